// A connector for testing the core's delivery: it does what its config says, and writes one line
// per deliver() call ("<message id> <attempt>") to its record file, so tests can count
// deliveries from outside the hub.
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "dx/connector.h"

namespace {

class ProbeConnector : public dx::Connector {
 public:
  std::string name() const override { return "probe"; }
  std::string version() const override { return "1.0.0"; }
  std::vector<dx::ConfigKey> configKeys() const override {
    using T = dx::ConfigKey::Type;
    return {{"mode", T::String, R"("deliver")", "deliver, reject or hang"},
            {"fail_first", T::Integer, "0", "answer Retry to the first N attempts of each message"},
            {"hang_ms", T::Integer, "60000", "how long `hang` blocks in deliver()"},
            {"record", T::String, R"("")", "file that gets one line per deliver() call"},
            {"reject_to", T::String, R"("")", "reject every message to this participant"},
            {"delay_ms", T::Integer, "0", "how long every deliver() takes"},
            {"peak_record", T::String, R"("")",
             "file that holds the most deliver() calls that ran at once so far"},
            {"fail_start", T::Boolean, "false", "throw from start()"}};
  }
  void start(dx::ConnectorContext&, const dx::ConnectorSettings& s) override {
    if (s.boolean("fail_start")) throw std::runtime_error("probe was told to fail at start");
    mode_ = s.string("mode");
    failFirst_ = static_cast<int>(s.integer("fail_first"));
    hangMs_ = s.integer("hang_ms");
    record_ = s.string("record");
    rejectTo_ = s.string("reject_to");
    delayMs_ = s.integer("delay_ms");
    peakRecord_ = s.string("peak_record");
  }
  void stop() override {}
  dx::DeliveryResult deliver(const dx::Message& m) override {
    int attempt;
    {
      std::lock_guard lock(mutex_);
      attempt = ++attempts_[m.id];
      if (!record_.empty()) std::ofstream(record_, std::ios::app) << m.id << " " << attempt << "\n";
      if (++running_ > peak_) {
        peak_ = running_;
        if (!peakRecord_.empty()) std::ofstream(peakRecord_) << peak_ << "\n";
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs_));
    {
      std::lock_guard lock(mutex_);
      --running_;
    }
    if (mode_ == "hang" && m.type == "freeze.request" && m.to == "bank.sbi")
      std::this_thread::sleep_for(std::chrono::milliseconds(hangMs_));
    if (attempt <= failFirst_) return dx::DeliveryResult::retry("probe: planned failure");
    if (mode_ == "reject" || m.to == rejectTo_)
      return dx::DeliveryResult::reject("probe: planned rejection");
    return dx::DeliveryResult::delivered();
  }

 private:
  std::string mode_, record_, rejectTo_, peakRecord_;
  int failFirst_ = 0, running_ = 0, peak_ = 0;
  std::int64_t hangMs_ = 0, delayMs_ = 0;
  std::mutex mutex_;
  std::map<std::string, int> attempts_;
};

}  // namespace

DX_CONNECTOR_PLUGIN(ProbeConnector)
