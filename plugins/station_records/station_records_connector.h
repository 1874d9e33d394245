#pragma once
// The station_records connector (DESIGN §2, §8).
//
// Source (a hub acting for police stations): a watcher thread reads each station's records
// exports (CSV or JSON, see record_reader.h) from its folder and turns every new or changed
// record into a station.record signed as the station — submitted to this hub's pipeline, or,
// with `forward_to`, posted to the district hub over mutual TLS as the station, through an
// outbox that survives restarts and outages. Bad rows are reported beside the file
// (rejected/<file>.errors.csv), never dropped silently.
//
// Sink (the district hub): deliver() keeps every station.record in the record book, every
// version of every case; RecordBook::current() is what the cyber-crime report reads.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "dx/connector.h"
#include "message_validator.h"
#include "outbox.h"
#include "record_book.h"
#include "record_reader.h"
#include "record_source.h"

namespace dx::station_records {

class StationRecordsConnector : public Connector {
 public:
  StationRecordsConnector();
  ~StationRecordsConnector() override;

  std::string name() const override { return "station_records"; }
  std::string version() const override { return "1.0.0"; }
  std::vector<ConfigKey> configKeys() const override;
  // Opens the state files, checks every station (signer, folder, TLS identity) and starts the
  // watcher thread when there are stations. Throws std::runtime_error naming the key at fault.
  void start(ConnectorContext& context, const ConnectorSettings& settings) override;
  // Wakes the watcher and joins it; returns once a file being read is finished (an HTTPS post
  // in flight may take up to its 5 s timeout). Idempotent.
  void stop() override;
  // station.record → the record book (Delivered once stored); any other type is refused.
  DeliveryResult deliver(const Message& message) override;

  // One pass of the watcher (what the thread does every poll_ms), run now in the caller's
  // thread, also after stop(); a pass running in the watcher is waited for. For tests and
  // operators.
  void pollOnce();
  // After start(): the station side's outbox and the district side's record book.
  Outbox& outbox() { return *outbox_; }
  RecordBook& recordBook() { return *book_; }

 private:
  void run();
  void pass(const std::atomic<bool>& stopping);

  ConnectorContext* context_ = nullptr;
  std::chrono::milliseconds poll_{1000};
  std::unique_ptr<MessageValidator> validator_;
  std::unique_ptr<RecordReader> reader_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<RecordBook> book_;
  std::unique_ptr<RecordSource> source_;

  std::mutex passMutex_;  // one pass at a time
  std::mutex waitMutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::thread watcher_;
};

}  // namespace dx::station_records
