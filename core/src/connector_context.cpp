#include "connector_context.h"

#include <algorithm>
#include <stdexcept>

#include "jws.h"

namespace dx {

namespace {

class ParticipantSigner : public MessageSigner {
 public:
  explicit ParticipantSigner(Signer signer)
      : signer_(std::move(signer)), id_(signer_.participantId()) {}
  const std::string& participantId() const override { return id_; }
  std::string sign(const std::string& payloadJson) const override {
    return signer_.sign(payloadJson);
  }

 private:
  Signer signer_;
  std::string id_;
};

}  // namespace

HubConnectorContext::HubConnectorContext(const HubConfig& config, const PluginEntry& plugin,
                                         Pipeline& pipeline, Store& store)
    : config_(config),
      plugin_(plugin),
      pipeline_(pipeline),
      store_(store),
      log_(Poco::Logger::get("dxhub." + plugin.name)) {}

SubmitResult HubConnectorContext::submit(const std::string& jws) {
  Outcome o = pipeline_.submit(jws, "");
  return {o.status, o.code, o.body};
}

void HubConnectorContext::requireActsFor(const std::string& participantId) const {
  if (std::find(plugin_.actsFor.begin(), plugin_.actsFor.end(), participantId) ==
      plugin_.actsFor.end())
    throw std::invalid_argument("connector " + plugin_.name + " does not act for " + participantId +
                                " (add it to the plugin's acts_for)");
}

std::shared_ptr<const MessageSigner> HubConnectorContext::signerFor(
    const std::string& participantId) {
  requireActsFor(participantId);
  std::lock_guard lock(mutex_);
  auto& signer = signers_[participantId];
  if (!signer) {
    TlsIdentity files = tlsFor(participantId);
    signer = std::make_shared<ParticipantSigner>(Signer::fromFiles(files.key, files.cert));
  }
  return signer;
}

TlsIdentity HubConnectorContext::hubTls() const {
  return {config_.hubCertPath(), config_.hubKeyPath(), config_.caPath, config_.crlPath};
}

TlsIdentity HubConnectorContext::tlsFor(const std::string& participantId) const {
  requireActsFor(participantId);
  return {config_.pkiDir + "/" + participantId + ".crt",
          config_.pkiDir + "/" + participantId + ".key", config_.caPath, config_.crlPath};
}

std::optional<Message> HubConnectorContext::message(const std::string& id) {
  std::optional<MessageRecord> r = store_.find(id);
  if (!r) return std::nullopt;
  Expected<JwsParts> parts = splitJws(r->jws, {});
  return Message{r->id,      r->type, r->from,
                 r->to,      r->ref,  r->caseId,
                 r->created, r->jws,  parts ? parts->payload : std::string(),
                 r->digest};
}

}  // namespace dx
