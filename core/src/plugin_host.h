#pragma once
// Loads the connector plugins named by the config and routes messages to them.
//
// Loading order for each plugin: the library is opened, its exported dx_plugin_abi() checked
// (before anything else of it runs), then Poco's manifest read and the connector created; its
// config is checked against the keys it declares. Any problem stops start-up with one line
// naming the config file, the plugin and what is wrong. Connectors are destroyed before their
// libraries are unloaded.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <Poco/ClassLoader.h>

#include "config.h"
#include "dx/connector.h"

namespace dx {

struct RetryPolicy {
  std::chrono::milliseconds initialBackoff{500};
  std::chrono::milliseconds maxBackoff{60000};
  int maxAttempts = 12;
  std::chrono::seconds maxAge{24 * 3600};
  std::chrono::milliseconds timeout{15000};  // one deliver() call
  int inFlight = 1;  // deliveries to one recipient at once (started in order)
};

struct PluginEntry {
  std::string name, library;
  std::vector<std::string> serves, types, actsFor;
  RetryPolicy retry;
  std::unique_ptr<ConnectorSettings> settings;
  std::unique_ptr<Connector> connector;
  std::atomic<int> callsInFlight{0};  // deliver() calls still running (a hung one stays counted)
  bool serves_(const std::string& to, const std::string& type) const;
};

class PluginHost {
 public:
  // Loads and checks every plugin of `config.plugins`; throws ConfigError.
  explicit PluginHost(const HubConfig& config);
  ~PluginHost();  // connectors first, then the libraries

  // The plugin delivering `type` messages to `to`, or nullptr (the recipient's inbox).
  PluginEntry* route(const std::string& to, const std::string& type);
  PluginEntry* find(const std::string& name);
  std::vector<std::unique_ptr<PluginEntry>>& entries() { return entries_; }

 private:
  Poco::ClassLoader<Connector> loader_;  // declared first: destroyed after the connectors
  std::vector<std::unique_ptr<PluginEntry>> entries_;
};

// The text of ConfigKey::Type, for messages and `dxhub plugins`.
const char* configKeyTypeName(ConfigKey::Type type);

}  // namespace dx
