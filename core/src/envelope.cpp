#include "envelope.h"

#include "clock.h"

namespace dx {

std::string newEnvelope(const std::string& type, const std::string& from, const std::string& to,
                        const std::string& body, const std::string& ref,
                        const std::string& caseId) {
  std::string out = R"({"id":")" + newUuid() + R"(","type":")" + type + R"(","from":")" + from +
                    R"(","to":")" + to + R"(","created":")" +
                    formatRfc3339(SystemClock::instance().unixSeconds()) + "\"";
  if (!ref.empty()) out += R"(,"ref":")" + ref + "\"";
  if (!caseId.empty()) out += R"(,"case":")" + caseId + "\"";
  return out + R"(,"body":)" + body + "}";
}

}  // namespace dx
