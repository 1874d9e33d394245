#pragma once
// The hub assembled from its subsystems, each started in order and stopped in reverse:
//   trust  (config, CA and CRL, participant registry, the hub's signing key)
//   policy (policy rules, schemas)
//   store  (the database, the journal that writes it, the pipeline)
//   connectors (the plugins, their contexts, the delivery engine)
//   http   (the TLS API)
// `dxhub serve` runs them inside a Poco ServerApplication; tests and the demo may run a Hub
// directly.
#include <memory>
#include <string>

#include <Poco/Logger.h>
#include <Poco/Util/Subsystem.h>

#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "connector_context.h"
#include "delivery_engine.h"
#include "http_api.h"
#include "journal.h"
#include "jws.h"
#include "message_validator.h"
#include "metrics.h"
#include "pipeline.h"
#include "policy.h"
#include "registry.h"
#include "store.h"

namespace dx {

// Everything the subsystems build, in the order they build it.
struct HubState {
  HubConfig config;
  std::string listen;
  const Clock* clock = &SystemClock::instance();
  Poco::Logger* log = &Poco::Logger::get("dxhub");
  Metrics metrics;
  std::unique_ptr<TrustStore> trust;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Signer> hubSigner;
  std::unique_ptr<Policy> policy;
  std::unique_ptr<MessageValidator> validator;
  std::unique_ptr<Store> store;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<PluginHost> plugins;
  std::vector<std::unique_ptr<HubConnectorContext>> contexts;
  std::unique_ptr<DeliveryEngine> delivery;
  std::unique_ptr<HttpApi> api;
};

class TrustSubsystem : public Poco::Util::Subsystem {
 public:
  explicit TrustSubsystem(HubState& s) : s_(s) {}
  const char* name() const override { return "trust"; }
  void initialize(Poco::Util::Application&) override;
  void uninitialize() override;

 private:
  HubState& s_;
};

class PolicySubsystem : public Poco::Util::Subsystem {
 public:
  explicit PolicySubsystem(HubState& s) : s_(s) {}
  const char* name() const override { return "policy"; }
  void initialize(Poco::Util::Application&) override;
  void uninitialize() override;

 private:
  HubState& s_;
};

class StoreSubsystem : public Poco::Util::Subsystem {
 public:
  explicit StoreSubsystem(HubState& s) : s_(s) {}
  const char* name() const override { return "store"; }
  void initialize(Poco::Util::Application&) override;
  void uninitialize() override;  // writes what the journal has queued, then closes

 private:
  HubState& s_;
};

class ConnectorSubsystem : public Poco::Util::Subsystem {
 public:
  explicit ConnectorSubsystem(HubState& s) : s_(s) {}
  const char* name() const override { return "connectors"; }
  void initialize(Poco::Util::Application&) override;
  void uninitialize() override;  // stops delivery and every connector

 private:
  HubState& s_;
};

// The hub's signed alarm to `to` about message `about` (DESIGN §4 hub.escalation). Its id is
// derived from `reason` and `about.id`: one escalation per message and reason, across instances.
std::string escalationPayload(const std::string& hubId, const std::string& to,
                              const MessageRecord& about, const std::string& reason,
                              const std::string& detail, std::int64_t unixSeconds);

class HttpSubsystem : public Poco::Util::Subsystem {
 public:
  explicit HttpSubsystem(HubState& s) : s_(s) {}
  const char* name() const override { return "http"; }
  void initialize(Poco::Util::Application&) override;
  void uninitialize() override;  // stops accepting, lets requests in flight finish

 private:
  HubState& s_;
};

}  // namespace dx
