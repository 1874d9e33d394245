#include "station_records_connector.h"

#include <filesystem>
#include <stdexcept>

#include <rapidjson/document.h>

#include "strict_json.h"

namespace dx::station_records {

namespace {

// The config keys, read in one place.
SourceOptions readOptions(const ConnectorSettings& settings) {
  SourceOptions o;
  rapidjson::Document stations;
  const std::string& text = settings.json("stations");
  if (parseStrict(text, stations) || !stations.IsArray())
    throw std::runtime_error("stations: must be a list of {\"id\", \"inbox_dir\"} objects");
  for (const rapidjson::Value& s : stations.GetArray()) {
    if (!s.IsObject())
      throw std::runtime_error("stations: every entry must be an object {\"id\", \"inbox_dir\"}");
    StationInbox inbox;
    for (const auto& m : s.GetObject()) {
      std::string key = m.name.GetString();
      if ((key != "id" && key != "inbox_dir") || !m.value.IsString())
        throw std::runtime_error("stations: \"" + key +
                                 "\" is not a key of a station (expected \"id\" and "
                                 "\"inbox_dir\", both strings)");
      (key == "id" ? inbox.id : inbox.inboxDir) = m.value.GetString();
    }
    if (inbox.id.empty() || inbox.inboxDir.empty())
      throw std::runtime_error("stations: every entry needs \"id\" and \"inbox_dir\"");
    o.stations.push_back(std::move(inbox));
  }
  o.to = settings.string("to");
  std::int64_t poll = settings.integer("poll_ms");
  if (poll < 10 || poll > 3600000)
    throw std::runtime_error("poll_ms: must be between 10 and 3600000");
  o.poll = std::chrono::milliseconds(poll);
  o.forwardTo = settings.string("forward_to");
  o.hubCert = settings.string("hub_cert");
  return o;
}

}  // namespace

StationRecordsConnector::StationRecordsConnector() = default;

StationRecordsConnector::~StationRecordsConnector() {
  stop();
}

std::vector<ConfigKey> StationRecordsConnector::configKeys() const {
  using T = ConfigKey::Type;
  return {
      {"stations", T::ObjectList, "[]",
       "stations whose exports are read: [{\"id\": station participant id (in acts_for), "
       "\"inbox_dir\": folder its records software writes to}]"},
      {"to", T::String, "\"cc.samastipur\"", "recipient of the station.record messages"},
      {"poll_ms", T::Integer, "1000", "how often the inbox folders and the outbox are looked at"},
      {"state_dir", T::String, "\"var/station_records\"",
       "folder of this connector's SQLite files: outbox.db (station side), record_book.db "
       "(district side)"},
      {"forward_to", T::String, "\"\"",
       "base URL of the district hub to post records to as the station (mutual TLS); empty: "
       "submit them to this hub"},
      {"hub_cert", T::String, "\"\"",
       "certificate file of the district hub, to verify its receipts when forwarding (empty: "
       "receipts are kept unverified)"},
      {"schemas", T::String, "\"config/schemas\"",
       "folder of the JSON Schemas rows are checked against before they are signed"},
  };
}

void StationRecordsConnector::start(ConnectorContext& context, const ConnectorSettings& settings) {
  stop();
  context_ = &context;
  auto fail = [](const std::string& what) {
    return std::runtime_error("station_records: " + what);
  };
  bool watch = false;
  try {
    SourceOptions options = readOptions(settings);
    poll_ = options.poll;
    watch = !options.stations.empty();
    const std::string stateDir = settings.string("state_dir");
    if (stateDir.empty()) throw std::runtime_error("state_dir: must not be empty");
    std::error_code ec;
    std::filesystem::create_directories(stateDir, ec);
    if (ec) throw std::runtime_error("state_dir: cannot create " + stateDir + ": " + ec.message());
    try {
      validator_ = std::make_unique<MessageValidator>(settings.string("schemas"));
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("schemas: ") + e.what());
    }
    reader_ = std::make_unique<RecordReader>(*validator_);
    outbox_ = std::make_unique<Outbox>(stateDir + "/outbox.db");
    book_ = std::make_unique<RecordBook>(stateDir + "/record_book.db");
    source_ = std::make_unique<RecordSource>(context, std::move(options), *reader_, *outbox_);
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
  stopping_ = false;
  if (watch) watcher_ = std::thread([this] { run(); });
}

void StationRecordsConnector::stop() {
  {
    std::lock_guard lock(waitMutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void StationRecordsConnector::run() {
  while (!stopping_) {
    pass(stopping_);
    std::unique_lock lock(waitMutex_);
    wake_.wait_for(lock, poll_, [this] { return stopping_.load(); });
  }
}

void StationRecordsConnector::pollOnce() {
  static const std::atomic<bool> kNever{false};
  pass(kNever);
}

void StationRecordsConnector::pass(const std::atomic<bool>& stopping) {
  std::lock_guard lock(passMutex_);
  if (!source_) return;
  try {
    source_->pollOnce(stopping);
  } catch (const std::exception& e) {
    context_->logger().error(std::string("station_records: ") + e.what());
  }
}

DeliveryResult StationRecordsConnector::deliver(const Message& message) {
  if (message.type != "station.record")
    return DeliveryResult::reject("station_records keeps station.record only");
  if (!book_) return DeliveryResult::retry("station_records is not started");
  try {
    book_->store(message);
    return DeliveryResult::delivered();
  } catch (const std::invalid_argument& e) {
    return DeliveryResult::reject(std::string("station_records: ") + e.what());
  } catch (const std::exception& e) {
    return DeliveryResult::retry(std::string("station_records: record book: ") + e.what());
  } catch (...) {
    return DeliveryResult::retry("station_records: record book: unknown failure");
  }
}

}  // namespace dx::station_records
