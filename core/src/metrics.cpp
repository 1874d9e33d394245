#include "metrics.h"

#include <cstdio>

namespace dx {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  std::lock_guard lock(mutex_);
  ++counts_[i];
  sum_ += value;
  ++count_;
}

namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
// Label values come from our own tables, but escape anyway: a type from a refused message is
// attacker-chosen.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 64)) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

void Histogram::write(std::string& out, const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : receiptLatency_({0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}),
      commitLatency_({0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1}),
      batchSize_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      deliveryLatency_({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60}) {}

void Metrics::countRequest(std::string_view route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
}

void Metrics::countMessage(std::string_view type, std::string_view outcome) {
  std::lock_guard lock(mutex_);
  ++messages_[{std::string(type.empty() ? "unknown" : type), std::string(outcome)}];
}

void Metrics::observeCommit(double seconds, std::size_t batch) {
  commitLatency_.observe(seconds);
  batchSize_.observe(static_cast<double>(batch));
}

void Metrics::observeDelivery(std::string_view connector, double seconds) {
  std::lock_guard lock(mutex_);
  auto& [sum, count] = deliverySeconds_[std::string(connector)];
  sum += seconds;
  ++count;
}

void Metrics::countDelivery(std::string_view connector, std::string_view outcome) {
  std::lock_guard lock(mutex_);
  ++deliveries_[{std::string(connector), std::string(outcome)}];
}

void Metrics::addGauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Metrics::render() const {
  std::string out;
  {
    std::lock_guard lock(mutex_);
    out += "# HELP dxhub_http_requests_total HTTP requests by route and status.\n";
    out += "# TYPE dxhub_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += "dxhub_http_requests_total{route=\"" + label(key.first) + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    out += "# HELP dxhub_messages_total Messages by type and outcome code.\n";
    out += "# TYPE dxhub_messages_total counter\n";
    for (const auto& [key, n] : messages_)
      out += "dxhub_messages_total{type=\"" + label(key.first) + "\",outcome=\"" +
             label(key.second) + "\"} " + std::to_string(n) + "\n";
    out += "# HELP dxhub_deliveries_total Delivery attempts by connector and outcome.\n";
    out += "# TYPE dxhub_deliveries_total counter\n";
    for (const auto& [key, n] : deliveries_)
      out += "dxhub_deliveries_total{connector=\"" + label(key.first) + "\",outcome=\"" +
             label(key.second) + "\"} " + std::to_string(n) + "\n";
    out += "# HELP dxhub_delivery_seconds Time of deliver() calls by connector.\n";
    out += "# TYPE dxhub_delivery_seconds summary\n";
    for (const auto& [name, v] : deliverySeconds_) {
      out +=
          "dxhub_delivery_seconds_sum{connector=\"" + label(name) + "\"} " + number(v.first) + "\n";
      out += "dxhub_delivery_seconds_count{connector=\"" + label(name) + "\"} " +
             std::to_string(v.second) + "\n";
    }
    for (const Gauge& g : gauges_) {
      out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
      out += g.name + " " + number(g.read()) + "\n";
    }
  }
  out += "# HELP dxhub_receipt_seconds Time from request to receipt.\n";
  out += "# TYPE dxhub_receipt_seconds histogram\n";
  receiptLatency_.write(out, "dxhub_receipt_seconds");
  out += "# HELP dxhub_store_commit_seconds Time of one group commit (with fsync).\n";
  out += "# TYPE dxhub_store_commit_seconds histogram\n";
  commitLatency_.write(out, "dxhub_store_commit_seconds");
  out += "# HELP dxhub_delivery_latency_seconds From acceptance to delivery (this run's messages).\n";
  out += "# TYPE dxhub_delivery_latency_seconds histogram\n";
  deliveryLatency_.write(out, "dxhub_delivery_latency_seconds");
  out += "# HELP dxhub_store_commit_batch Messages and audit entries per group commit.\n";
  out += "# TYPE dxhub_store_commit_batch histogram\n";
  batchSize_.write(out, "dxhub_store_commit_batch");
  return out;
}

}  // namespace dx
