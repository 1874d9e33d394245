#pragma once
// What the core lends one connector (dx::ConnectorContext): the pipeline, signers and TLS
// identities for the participants in its `acts_for`, and read access to stored messages.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config.h"
#include "dx/connector.h"
#include "pipeline.h"
#include "plugin_host.h"
#include "store.h"

namespace dx {

class HubConnectorContext : public ConnectorContext {
 public:
  HubConnectorContext(const HubConfig& config, const PluginEntry& plugin, Pipeline& pipeline,
                      Store& store);
  const std::string& hubId() const override { return config_.hubId; }
  Poco::Logger& logger() override { return log_; }
  SubmitResult submit(const std::string& jws) override;
  std::shared_ptr<const MessageSigner> signerFor(const std::string& participantId) override;
  TlsIdentity hubTls() const override;
  TlsIdentity tlsFor(const std::string& participantId) const override;
  std::optional<Message> message(const std::string& id) override;

 private:
  void requireActsFor(const std::string& participantId) const;

  const HubConfig& config_;
  const PluginEntry& plugin_;
  Pipeline& pipeline_;
  Store& store_;
  Poco::Logger& log_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const MessageSigner>> signers_;
};

}  // namespace dx
