#include "crime_report_formats.h"
#include "money.h"

namespace dx {

namespace {

// Appends one field: RFC 4180 quotes a field with a comma, quote or line break, quotes doubled.
void appendField(std::string& out, const std::string& text, bool first = false) {
  if (!first) out += ',';
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string crimeReportCsv(const CrimeReport& r) {
  std::string out =
      "\xEF\xBB\xBF"  // UTF-8 byte order mark: spreadsheets then read the Hindi names right
      "station,station_name,station_name_hi,month,category,cases,amount_lost,amount_frozen,"
      "amount_recovered";
  for (const char* status : kCaseStatuses) appendField(out, status);
  out += "\r\n";
  for (std::size_t s = 0; s < r.stations.size(); ++s) {
    const ReportStation& station = r.stations[s];
    for (std::size_t m = 0; m < r.months.size(); ++m)
      for (std::size_t c = 0; c < crimeCategories().size(); ++c) {
        const Tally& t = r.cell(s, c, m);
        appendField(out, station.id, true);
        appendField(out, station.name);
        appendField(out, station.nameHi);
        appendField(out, r.months[m].text());
        appendField(out, crimeCategories()[c].id);
        appendField(out, std::to_string(t.cases));
        appendField(out, formatMoney(t.lost));
        appendField(out, formatMoney(t.frozen));
        appendField(out, formatMoney(t.recovered));
        for (int n : t.byStatus) appendField(out, std::to_string(n));
        out += "\r\n";
      }
  }
  return out;
}

}  // namespace dx
