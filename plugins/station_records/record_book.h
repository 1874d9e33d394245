#pragma once
// The district side's record book (state_dir/record_book.db): every station.record delivered,
// keyed by (station = the message's `from`, case_no), every version kept. The current version
// of a case is the newest by `created`, then by arrival. The cyber-crime report reads
// current().
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/Data/Session.h>

#include "dx/message.h"
#include "sqlite_file.h"

namespace dx::station_records {

// One version of one case as a station reported it.
struct StationRecord {
  std::string station;  // participant id of the station (the message's sender)
  std::string caseNo;
  std::string registeredOn;  // YYYY-MM-DD
  std::string category;
  std::vector<std::string> sections;
  std::string status;
  std::string amountLost, amountFrozen, amountRecovered;  // rupees, as sent ("45000.00")
  std::string ncrpAck;                                    // empty when none
  std::vector<std::string> actions;
  std::string messageId, created;  // the message that carried this version, and its time
  std::int64_t arrival = 0;        // order in which versions were stored
  int versions = 0;                // current(): how many versions the case has
};

// Thread-safe (one connection behind a mutex). Throws StateError on a storage failure and
// std::invalid_argument for a message that is not a station.record envelope.
class RecordBook {
 public:
  explicit RecordBook(const std::string& path);
  ~RecordBook();

  // Stores the version a message carries. The same message again stores nothing (a delivery
  // the core repeats). True when it was new.
  bool store(const Message& message);
  // The current version of every case, by station then case number.
  std::vector<StationRecord> current();
  // Every version of one case, oldest first (by created, then arrival).
  std::vector<StationRecord> history(const std::string& station, const std::string& caseNo);

 private:
  std::vector<StationRecord> select(const std::string& where, const std::vector<std::string>& args,
                                    const std::string& order);
  std::string path_;
  std::mutex mutex_;
  std::unique_ptr<Poco::Data::Session> session_;
};

}  // namespace dx::station_records
