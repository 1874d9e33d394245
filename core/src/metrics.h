#pragma once
// Counters and histograms for GET /metrics (Prometheus text format). Thread-safe; a few
// mutex-guarded map updates per request, far below the cost of one signature check.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dx {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count lines of `name` to `out`.
  void write(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void countRequest(std::string_view route, int status);
  void countMessage(std::string_view type, std::string_view outcome);
  void observeReceiptLatency(double seconds) { receiptLatency_.observe(seconds); }
  void observeCommit(double seconds, std::size_t batch);
  void observeDelivery(std::string_view connector, double seconds);
  void observeDeliveryLatency(double seconds) { deliveryLatency_.observe(seconds); }
  void countDelivery(std::string_view connector, std::string_view outcome);
  // Gauges read at scrape time (queue depth, …).
  void addGauge(std::string name, std::string help, std::function<double()> read);

  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> messages_, deliveries_;
  std::map<std::string, std::pair<double, std::uint64_t>> deliverySeconds_;  // sum, count
  Histogram receiptLatency_, commitLatency_, batchSize_, deliveryLatency_;
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  std::vector<Gauge> gauges_;
};

}  // namespace dx
