#pragma once
// The HTTP API of DESIGN §6 on Poco's TCPServer over TLS, with dxhub's HTTP connection
// (http_connection.h).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include "case_tracker.h"
#include "clock.h"
#include "config.h"
#include "http_connection.h"
#include "metrics.h"
#include "pipeline.h"
#include "registry.h"
#include "store.h"

namespace dx {

// What the request handlers share. Owned by HttpApi; handlers hold a reference.
struct ApiContext {
  const HubConfig& config;
  const Registry& registry;
  Pipeline& pipeline;
  Store& store;
  Journal& journal;
  Metrics& metrics;
  Poco::Logger& log;
  int admitLimit;
  // Admission: at most workers + queue requests are in the pipeline at once (running or waiting
  // for their group commit); past that the answer is 503 busy with Retry-After.
  std::atomic<int> admitted{0};
  std::atomic<int> inFlight{0};
  std::atomic<bool> stopping{false};
  CaseTracker* cases = nullptr;
  const Clock* clock = &SystemClock::instance();  // "now" for reports' default periods
  // GET /healthz asks the store at most once a second (one request at a time); the others are
  // answered from its last answer.
  std::atomic<std::int64_t> storeCheckedAt{INT64_MIN / 2};  // steady clock, ms
  std::atomic<bool> storeChecking{false};
  std::atomic<bool> storeAnswers{true};
};

// The HTTP server's parameters from the config's limits: connections, keep-alive, read timeout.
// (bench/sig_bound.cpp serves with the same.)
Poco::Net::HTTPServerParams::Ptr httpServerParams(const Limits& limits);

class HttpApi {
 public:
  HttpApi(const HubConfig& config, const std::string& listen, const Registry& registry,
          Pipeline& pipeline, Store& store, Journal& journal, Metrics& metrics, Poco::Logger& log,
          const Clock& clock = SystemClock::instance());
  ~HttpApi();

  void start();
  // Stops accepting, lets requests in flight finish (up to `graceMs`), then closes the rest.
  void stop(int graceMs);
  unsigned short port() const;
  // The case tracker behind /v1/cases and /v1/reports/banks (absent: those answer 404).
  void setCases(CaseTracker* cases) { ctx_->cases = cases; }

 private:
  std::unique_ptr<ApiContext> ctx_;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<RequestDeadlines> deadlines_;  // outlives the server's connections
  std::unique_ptr<Poco::Net::TCPServer> server_;
};

}  // namespace dx
