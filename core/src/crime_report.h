#pragma once
// The district's cyber-crime graph (DESIGN §6, GET /v1/reports/cyber-crime): the stations'
// `station.record` messages, as the hub stored them, added up per station × category × month.
// A station files a case again whenever it changes (status, money frozen or recovered), so only
// the newest record of each (station, case_no) counts: newest by `created`, then by acceptance
// order. A case counts in the month of its `registered_on`. The report does not depend on the
// station_records connector: it reads the hub's own store.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clock.h"
#include "config.h"
#include "expected.h"
#include "money.h"
#include "store.h"

namespace dx {

// A calendar month.
struct Month {
  int year = 0;
  int month = 0;  // 1..12

  int index() const { return year * 12 + month - 1; }  // months since year 0
  static Month fromIndex(int index) { return {index / 12, index % 12 + 1}; }
  std::string text() const;     // "2026-10"
  std::string english() const;  // "October 2026"
  std::string hindi() const;    // "अक्टूबर 2026"
  bool operator==(const Month&) const = default;
};

// "YYYY-MM" (year 2000-2999, month 01-12), or nullopt.
std::optional<Month> parseMonth(std::string_view text);
// The month of a moment in Indian Standard Time (UTC+05:30), the district's own calendar.
Month monthInIndia(std::int64_t unixSeconds);

// The months a report covers, both ends included.
struct ReportPeriod {
  Month from, to;
  std::vector<Month> months() const;
};

// The longest period one report may cover.
constexpr int kMaxReportMonths = 60;

// The period of a query's `from` and `to` (each "YYYY-MM", empty when not given). Defaults: `to`
// the current month (by `clock`, in India), `from` five months before `to` (six months in all).
// Problem{"bad_query"} for a month not written YYYY-MM, `from` after `to`, or more than
// kMaxReportMonths months.
Expected<ReportPeriod> reportPeriod(std::string_view from, std::string_view to, const Clock& clock);

// The categories of station.record (DESIGN §4), in the schema's order, with their names.
struct CrimeCategory {
  const char* id;  // upi_fraud
  const char* en;  // UPI fraud
  const char* hi;  // यूपीआई धोखाधड़ी
};
const std::vector<CrimeCategory>& crimeCategories();

// The statuses of station.record, in the schema's order (a case's life).
constexpr std::array<const char*, 4> kCaseStatuses = {"registered", "under_investigation",
                                                      "chargesheeted", "closed"};

// One station.record as the report reads it. Money in paise.
struct StationRecord {
  std::string station;  // `from` of the message
  std::string caseNo, registeredOn, category, status;
  Paise lost = 0, frozen = 0, recovered = 0;
  std::int64_t created = 0;  // unix seconds of the envelope's `created`
  std::int64_t seq = 0;      // the hub's acceptance order
};

// Keeps the newest record of each (station, case_no); the order of the result is unspecified.
std::vector<StationRecord> latestRecords(std::vector<StationRecord> records);

// Every station.record in the store, newest of each case only. Throws StoreError (also when a
// stored message does not decode: the store was altered).
std::vector<StationRecord> latestStationRecords(Store& store);

// Cases and money of one cell (or of a sum of cells).
struct Tally {
  int cases = 0;
  Paise lost = 0, frozen = 0, recovered = 0;
  std::array<int, kCaseStatuses.size()> byStatus{};  // cases per status, kCaseStatuses' order

  void add(const StationRecord& record);
  void add(const Tally& other);
};

struct ReportStation {
  std::string id, name, nameHi;  // names from the config (the id when it has none)
  // One tally per category × month: cells[category * months + month], in crimeCategories()
  // and period order.
  std::vector<Tally> cells;
};

struct CrimeReport {
  std::string district, districtHi;
  ReportPeriod period;
  std::vector<Month> months;
  std::vector<ReportStation> stations;  // every station of the config, in its order; then any
                                        // other sender of records, by id

  const Tally& cell(std::size_t station, std::size_t category, std::size_t month) const;
  Tally stationTotal(std::size_t station) const;
  Tally categoryTotal(std::size_t category) const;
  Tally monthTotal(std::size_t month) const;
  Tally total() const;
};

// Adds up `latest` (already the newest of each case) over `period`; records registered outside
// it do not count. Pure: the same input gives the same report.
CrimeReport buildCrimeReport(const HubConfig& config, const std::vector<StationRecord>& latest,
                             const ReportPeriod& period);

}  // namespace dx
