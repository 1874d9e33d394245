#include "hub.h"

namespace dx {

void TrustSubsystem::initialize(Poco::Util::Application&) {
  s_.trust = std::make_unique<TrustStore>(s_.config.caPath, s_.config.crlPath);
  s_.registry = std::make_unique<Registry>(s_.config, *s_.trust);
  s_.hubSigner =
      std::make_unique<Signer>(Signer::fromFiles(s_.config.hubKeyPath(), s_.config.hubCertPath()));
  if (s_.hubSigner->participantId() != s_.config.hubId)
    throw std::runtime_error(s_.config.hubCertPath() + " names " + s_.hubSigner->participantId() +
                             ", not the hub " + s_.config.hubId);
  s_.log->information("trust: %z participants, CA %s, CRL %s", s_.registry->participants().size(),
                      s_.config.caPath,
                      s_.config.crlPath.empty() ? std::string("none") : s_.config.crlPath);
}

void TrustSubsystem::uninitialize() {
  s_.hubSigner.reset();
  s_.registry.reset();
  s_.trust.reset();
}

void PolicySubsystem::initialize(Poco::Util::Application&) {
  s_.policy = std::make_unique<Policy>(Policy::load(s_.config.policyPath));
  s_.validator = std::make_unique<MessageValidator>(s_.config.schemaDir);
}

void PolicySubsystem::uninitialize() {
  s_.validator.reset();
  s_.policy.reset();
}

void StoreSubsystem::initialize(Poco::Util::Application&) {
  s_.store = openStore(s_.config.storeUrl);
  s_.journal = std::make_unique<Journal>(*s_.store, *s_.hubSigner, *s_.clock, s_.metrics);
  s_.log->information("store: %s, %Ld messages", s_.config.storeUrl,
                      static_cast<Poco::Int64>(s_.store->messageCount()));
}

void StoreSubsystem::uninitialize() {
  if (s_.journal) s_.journal->stop();
  s_.journal.reset();
  s_.store.reset();
}

void HttpSubsystem::initialize(Poco::Util::Application&) {
  s_.pipeline = std::make_unique<Pipeline>(s_.config, *s_.registry, *s_.policy, *s_.validator,
                                           *s_.store, *s_.journal, *s_.clock, s_.metrics);
  s_.api = std::make_unique<HttpApi>(s_.config, s_.listen, *s_.registry, *s_.pipeline, *s_.store,
                                     *s_.journal, s_.metrics, *s_.log);
  s_.api->start();
  s_.log->information("http: listening on %s (port %hu)", s_.listen, s_.api->port());
}

void HttpSubsystem::uninitialize() {
  if (s_.api) s_.api->stop(4000);
  s_.api.reset();
  s_.pipeline.reset();
}

}  // namespace dx
