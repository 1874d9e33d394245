#include "crime_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "money.h"
#include "stored_message.h"

namespace dx {

std::string Month::text() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

std::string Month::english() const {
  static constexpr const char* kNames[] = {"January",   "February", "March",    "April",
                                           "May",       "June",     "July",     "August",
                                           "September", "October",  "November", "December"};
  return std::string(kNames[month - 1]) + " " + std::to_string(year);
}

std::string Month::hindi() const {
  static constexpr const char* kNames[] = {"जनवरी", "फ़रवरी", "मार्च",  "अप्रैल",  "मई",   "जून",
                                           "जुलाई",  "अगस्त",  "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"};
  return std::string(kNames[month - 1]) + " " + std::to_string(year);
}

std::optional<Month> parseMonth(std::string_view s) {
  if (s.size() != 7 || s[4] != '-') return std::nullopt;
  int v[6];
  for (int i : {0, 1, 2, 3, 5, 6}) {
    if (s[static_cast<std::size_t>(i)] < '0' || s[static_cast<std::size_t>(i)] > '9')
      return std::nullopt;
    v[i < 4 ? i : i - 1] = s[static_cast<std::size_t>(i)] - '0';
  }
  Month m{v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], v[4] * 10 + v[5]};
  if (m.year < 2000 || m.year > 2999 || m.month < 1 || m.month > 12) return std::nullopt;
  return m;
}

Month monthInIndia(std::int64_t unixSeconds) {
  constexpr std::int64_t kIndiaOffset = 5 * 3600 + 30 * 60;
  std::string day = formatRfc3339(unixSeconds + kIndiaOffset);  // "YYYY-MM-DDT…Z"
  return *parseMonth(std::string_view(day).substr(0, 7));
}

std::vector<Month> ReportPeriod::months() const {
  std::vector<Month> out;
  for (int i = from.index(); i <= to.index(); ++i) out.push_back(Month::fromIndex(i));
  return out;
}

Expected<ReportPeriod> reportPeriod(std::string_view from, std::string_view to,
                                    const Clock& clock) {
  auto read = [](std::string_view name, std::string_view text) -> Expected<Month> {
    if (std::optional<Month> m = parseMonth(text)) return *m;
    return Problem{"bad_query", std::string(name) + " must be a month written YYYY-MM"};
  };
  Expected<Month> end =
      to.empty() ? Expected<Month>(monthInIndia(clock.unixSeconds())) : read("to", to);
  if (!end) return end.problem();
  Expected<Month> start = from.empty() ? Expected<Month>(Month::fromIndex(end.value().index() - 5))
                                       : read("from", from);
  if (!start) return start.problem();
  if (start.value().index() > end.value().index())
    return Problem{"bad_query", "from must not be after to"};
  if (end.value().index() - start.value().index() + 1 > kMaxReportMonths)
    return Problem{"bad_query",
                   "a report covers at most " + std::to_string(kMaxReportMonths) + " months"};
  return ReportPeriod{start.value(), end.value()};
}

const std::vector<CrimeCategory>& crimeCategories() {
  static const std::vector<CrimeCategory> kCategories = {
      {"upi_fraud", "UPI fraud", "यूपीआई धोखाधड़ी"},
      {"otp_kyc_fraud", "OTP/KYC fraud", "ओटीपी/केवाईसी धोखाधड़ी"},
      {"sim_swap", "SIM swap", "सिम स्वैप"},
      {"sextortion", "Sextortion", "सेक्सटॉर्शन"},
      {"job_fraud", "Job fraud", "नौकरी के नाम पर ठगी"},
      {"investment_fraud", "Investment fraud", "निवेश धोखाधड़ी"},
      {"loan_app", "Loan app", "लोन ऐप"},
      {"identity_theft", "Identity theft", "पहचान की चोरी"},
      {"other", "Other", "अन्य"},
  };
  return kCategories;
}

std::vector<StationRecord> latestRecords(std::vector<StationRecord> records) {
  std::map<std::pair<std::string, std::string>, StationRecord> newest;
  for (StationRecord& r : records) {
    auto [it, inserted] = newest.try_emplace({r.station, r.caseNo}, r);
    if (!inserted && std::tie(r.created, r.seq) > std::tie(it->second.created, it->second.seq))
      it->second = std::move(r);
  }
  std::vector<StationRecord> out;
  out.reserve(newest.size());
  for (auto& [key, r] : newest) out.push_back(std::move(r));
  return out;
}

namespace {

// The record in a stored station.record message; nullopt if its money or time do not read
// (the pipeline validated every stored message, so only an altered store gets here). Throws
// StoreError when the stored bytes do not decode at all.
std::optional<StationRecord> readRecord(const MessageRecord& m) {
  rapidjson::Document envelope = storedEnvelope(m);
  auto body = envelope.FindMember("body");
  if (body == envelope.MemberEnd() || !body->value.IsObject()) return std::nullopt;
  const rapidjson::Value& b = body->value;
  StationRecord r;
  r.station = m.from;
  r.caseNo = jsonString(b, "case_no");
  r.registeredOn = jsonString(b, "registered_on");
  r.category = jsonString(b, "category");
  r.status = jsonString(b, "status");
  std::optional<Paise> lost = parseMoney(jsonString(b, "amount_lost"));
  std::optional<Paise> frozen = parseMoney(jsonString(b, "amount_frozen"));
  std::optional<Paise> recovered = parseMoney(jsonString(b, "amount_recovered"));
  std::optional<std::int64_t> created = parseRfc3339(m.created);
  if (r.caseNo.empty() || !lost || !frozen || !recovered || !created) return std::nullopt;
  r.lost = *lost;
  r.frozen = *frozen;
  r.recovered = *recovered;
  r.created = *created;
  r.seq = m.seq;
  return r;
}

template <class List>
int indexOf(const List& list, std::string_view name) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (name == list[i]) return static_cast<int>(i);
  return -1;
}

}  // namespace

std::vector<StationRecord> latestStationRecords(Store& store) {
  constexpr int kPage = 1000;
  std::vector<StationRecord> records;
  std::int64_t after = 0;
  for (;;) {
    std::vector<MessageRecord> page = store.byType("station.record", after, kPage);
    for (const MessageRecord& m : page)
      if (std::optional<StationRecord> r = readRecord(m)) records.push_back(std::move(*r));
    if (page.size() < static_cast<std::size_t>(kPage)) break;
    after = page.back().seq;
  }
  return latestRecords(std::move(records));
}

void Tally::add(const StationRecord& record) {
  ++cases;
  lost += record.lost;
  frozen += record.frozen;
  recovered += record.recovered;
  if (int s = indexOf(kCaseStatuses, record.status); s >= 0)
    ++byStatus[static_cast<std::size_t>(s)];
}

void Tally::add(const Tally& other) {
  cases += other.cases;
  lost += other.lost;
  frozen += other.frozen;
  recovered += other.recovered;
  for (std::size_t s = 0; s < byStatus.size(); ++s) byStatus[s] += other.byStatus[s];
}

const Tally& CrimeReport::cell(std::size_t station, std::size_t category, std::size_t month) const {
  return stations[station].cells[category * months.size() + month];
}

Tally CrimeReport::stationTotal(std::size_t station) const {
  Tally t;
  for (const Tally& c : stations[station].cells) t.add(c);
  return t;
}

Tally CrimeReport::categoryTotal(std::size_t category) const {
  Tally t;
  for (std::size_t s = 0; s < stations.size(); ++s)
    for (std::size_t m = 0; m < months.size(); ++m) t.add(cell(s, category, m));
  return t;
}

Tally CrimeReport::monthTotal(std::size_t month) const {
  Tally t;
  for (std::size_t s = 0; s < stations.size(); ++s)
    for (std::size_t c = 0; c < crimeCategories().size(); ++c) t.add(cell(s, c, month));
  return t;
}

Tally CrimeReport::total() const {
  Tally t;
  for (std::size_t s = 0; s < stations.size(); ++s) t.add(stationTotal(s));
  return t;
}

CrimeReport buildCrimeReport(const HubConfig& config, const std::vector<StationRecord>& latest,
                             const ReportPeriod& period) {
  CrimeReport report;
  report.district = config.district;
  report.districtHi = config.districtHi;
  report.period = period;
  report.months = period.months();
  const std::size_t cellCount = crimeCategories().size() * report.months.size();
  auto addStation = [&](std::string id, std::string name, std::string nameHi) {
    if (name.empty()) name = id;
    report.stations.push_back(
        {std::move(id), std::move(name), std::move(nameHi), std::vector<Tally>(cellCount)});
  };
  for (const ParticipantConfig& p : config.participants)
    if (p.role == "station") addStation(p.id, p.name, p.nameHi);

  std::vector<const StationRecord*> ordered;
  for (const StationRecord& r : latest) ordered.push_back(&r);
  std::sort(ordered.begin(), ordered.end(),
            [](auto* a, auto* b) { return a->station < b->station; });  // others by id
  for (const StationRecord* r : ordered) {
    std::optional<Month> month = parseMonth(std::string_view(r->registeredOn).substr(0, 7));
    int category = -1;
    for (std::size_t c = 0; c < crimeCategories().size(); ++c)
      if (r->category == crimeCategories()[c].id) category = static_cast<int>(c);
    if (!month || category < 0 || month->index() < period.from.index() ||
        month->index() > period.to.index())
      continue;
    auto station = std::find_if(report.stations.begin(), report.stations.end(),
                                [&](const ReportStation& s) { return s.id == r->station; });
    if (station == report.stations.end()) {
      addStation(r->station, {}, {});
      station = report.stations.end() - 1;
    }
    std::size_t m = static_cast<std::size_t>(month->index() - period.from.index());
    station->cells[static_cast<std::size_t>(category) * report.months.size() + m].add(*r);
  }
  return report;
}

}  // namespace dx
