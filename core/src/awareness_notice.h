#pragma once
// The SP office's awareness letter to the DM office, drafted from a month's cyber-crime report:
// a `notice.awareness` body (config/schemas/notice.awareness.json) in Hindi and English with the
// month's figures, the commonest frauds, the stations with most cases, and the warning the
// public needs. The SP office reads it, signs it (`dxhub sign`) and sends it (`dxhub send`).
#include <string>

#include "crime_report.h"

namespace dx {

struct NoticeDraft {
  std::string letterNo;   // e.g. "SP/CC/2026-10/1"
  std::string respondBy;  // YYYY-MM-DD by which the DM office is asked to report; "" for none
};

// The body as pretty-printed JSON (UTF-8). Uses the report's first month (the draft command
// builds a one-month report).
std::string draftAwarenessNotice(const CrimeReport& report, const NoticeDraft& draft);

}  // namespace dx
