// dxhub notice draft: the SP office's awareness letter to the DM office, drafted from the
// cyber-crime graph of one month.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "awareness_notice.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "crime_report.h"
#include "store.h"

namespace dx::cli {

namespace {
constexpr const char* kUsage =
    R"(usage: dxhub notice draft --config FILE --period YYYY-MM [--out BODY.json]

Drafts a notice.awareness body (config/schemas/notice.awareness.json) in Hindi and English from
the month's cyber-crime graph, read from the store named by the config: the month's cases and
money, the commonest frauds, the stations with most cases, every station's area, and the warning
to the public (never share bank or Aadhaar details or an OTP on a call; call 1930 or report at
cybercrime.gov.in). letter_no is SP/CC/<period>/<n>, n one more than the notices the hub holds;
respond_by is 14 days from today. Writes the body to --out (or stdout) for the SP office to
read, edit, sign and send:

  dxhub sign --key var/pki/sp.samastipur.key --cert var/pki/sp.samastipur.crt \
    --type notice.awareness --to dm.samastipur BODY.json > notice.jws
  dxhub send --config config/dxhub.json --as sp.samastipur notice.jws

Safe while the hub runs (it only reads the store).
)";

// The date `days` days after now, in India: YYYY-MM-DD.
std::string dateInIndiaAfter(int days) {
  constexpr std::int64_t kIndiaOffset = 5 * 3600 + 30 * 60;
  return formatRfc3339(SystemClock::instance().unixSeconds() + kIndiaOffset + days * 86400)
      .substr(0, 10);
}

// Writes `text` to `path` whole or not at all: a temp file beside it, then a rename.
void writeWhole(const std::string& path, const std::string& text) {
  const std::string temp = path + ".part";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
  }
  std::filesystem::rename(temp, path);
}
}  // namespace

int noticeCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config", "period", "out"});
  if (args.help || args.positional.empty()) {
    std::cout << kUsage;
    return args.help ? 0 : 2;
  }
  if (args.positional.size() != 1 || args.positional[0] != "draft")
    throw UsageError("the notice command is `dxhub notice draft --config FILE --period YYYY-MM`");
  const std::string period = args.require("period");
  std::optional<Month> month = parseMonth(period);
  if (!month) throw UsageError("--period must be a month written YYYY-MM, e.g. 2026-10");
  HubConfig config = loadConfig(args.require("config"));
  std::unique_ptr<Store> store = openStore(config.storeUrl);
  CrimeReport report = buildCrimeReport(config, latestStationRecords(*store), {*month, *month});
  const std::size_t notices = store->byType("notice.awareness", 0, 1000000).size();
  NoticeDraft draft{"SP/CC/" + period + "/" + std::to_string(notices + 1), dateInIndiaAfter(14)};
  std::string body = draftAwarenessNotice(report, draft);
  if (args.has("out"))
    writeWhole(args.get("out"), body);
  else
    std::cout << body;
  std::cerr << "drafted " << draft.letterNo << ": " << report.total().cases << " cases in "
            << month->english() << (args.has("out") ? ", written to " + args.get("out") : "")
            << "\n";
  return 0;
}

}  // namespace dx::cli
