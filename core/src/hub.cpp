#include "hub.h"

#include <sys/resource.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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
  s_.pipeline = std::make_unique<Pipeline>(s_.config, *s_.registry, *s_.policy, *s_.validator,
                                           *s_.store, *s_.journal, *s_.clock, s_.metrics);
  s_.log->information("store: %s, %Ld messages", s_.config.storeUrl,
                      static_cast<Poco::Int64>(s_.store->messageCount()));
  if (s_.journal->favoured())
    s_.log->information("store: the journal's thread runs %d below the process's niceness, the "
                        "delivery lanes %d below",
                        -Journal::kNiceness, -DeliveryEngine::kLaneNiceness);
  else
    s_.log->information("store: the journal's thread and the delivery lanes run at the "
                        "process's niceness (lowering it needs root, CAP_SYS_NICE or LimitNICE=)");
}

void StoreSubsystem::uninitialize() {
  s_.pipeline.reset();
  if (s_.journal) s_.journal->stop();
  s_.journal.reset();
  s_.store.reset();
}

std::string escalationPayload(const std::string& id, const std::string& hubId,
                              const std::string& to, const MessageRecord& about,
                              const std::string& reason, const std::string& detail,
                              std::int64_t unixSeconds) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto field = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v);
  };
  w.StartObject();
  field("id", id);
  field("type", "hub.escalation");
  field("from", hubId);
  field("to", to);
  field("created", formatRfc3339(unixSeconds));
  field("ref", about.id);
  if (!about.caseId.empty()) field("case", about.caseId);
  w.Key("body");
  w.StartObject();
  field("reason", reason);
  field("message", about.id);
  field("detail", detail.empty() ? reason : detail.substr(0, 1000));
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void ConnectorSubsystem::initialize(Poco::Util::Application&) {
  s_.plugins = std::make_unique<PluginHost>(s_.config);
  auto escalate = [&s = s_](const MessageRecord& m, const std::string& reason,
                            const std::string& detail) {
    std::string id = nameUuid("dx:escalation:" + reason + ":" + m.id + ":" + m.from);
    std::string jws = s.hubSigner->sign(
        escalationPayload(id, s.config.hubId, m.from, m, reason, detail, s.clock->unixSeconds()));
    Outcome o = s.pipeline->submit(jws, "");
    if (o.isProblem() && o.code != "id_conflict") {  // id_conflict: sent before (a restart)
      s.log->error("escalation about %s to %s refused: %s", m.id, m.from, o.body);
      // The store or the hub busy for now: worth another try.
      return o.status >= 500 ? DeliveryEngine::Escalated::Later
                             : DeliveryEngine::Escalated::Refused;
    }
    if (o.code == "duplicate")
      s.log->information("escalation: %s about %s was already sent", reason, m.id);
    else
      s.log->warning("escalation: %s about %s sent to %s", reason, m.id, m.from);
    return DeliveryEngine::Escalated::Stored;
  };
  s_.delivery = std::make_unique<DeliveryEngine>(*s_.plugins, *s_.store, *s_.journal, *s_.clock,
                                                 s_.metrics, *s_.log, escalate,
                                                 std::chrono::seconds(s_.config.leaseSeconds));
  s_.pipeline->setRouting(
      [plugins = s_.plugins.get()](const std::string& to, const std::string& type) {
        PluginEntry* p = plugins->route(to, type);
        return p ? p->name : std::string();
      },
      [delivery = s_.delivery.get()](const std::string& id) { delivery->accepted(id); });
  for (auto& entry : s_.plugins->entries()) {
    s_.contexts.push_back(
        std::make_unique<HubConnectorContext>(s_.config, *entry, *s_.pipeline, *s_.store));
    try {
      entry->connector->start(*s_.contexts.back(), *entry->settings);
    } catch (const std::exception& e) {
      throw std::runtime_error("connector " + entry->name + " failed to start: " + e.what());
    }
    s_.log->information("connector %s %s: serves %s", entry->name, entry->connector->version(),
                        std::to_string(entry->serves.size()) + " participants");
  }
  s_.delivery->start();
}

void ConnectorSubsystem::uninitialize() {
  if (s_.delivery) s_.delivery->stop();
  if (s_.plugins)
    for (auto& entry : s_.plugins->entries())
      if (entry->connector) entry->connector->stop();
  if (s_.pipeline) s_.pipeline->setRouting({}, {});  // nothing submits any more
  s_.delivery.reset();
  s_.contexts.clear();
  s_.plugins.reset();
}

void CasesSubsystem::initialize(Poco::Util::Application&) {
  s_.cases = std::make_unique<CaseTracker>(s_.config, *s_.store, *s_.pipeline, *s_.hubSigner,
                                           *s_.clock, *s_.log);
  s_.pipeline->setTracking(
      [cases = s_.cases.get()](const Pipeline::Accepted& m) { cases->accepted(m); });
  s_.cases->start();
}

void CasesSubsystem::uninitialize() {
  if (s_.pipeline) s_.pipeline->setTracking({});
  if (s_.cases) s_.cases->stop();
  s_.cases.reset();
}

void HttpSubsystem::initialize(Poco::Util::Application&) {
  // One connection is one open file, and a slow client holds its connection: let the process
  // have as many as the system allows it (the soft limit is often 1024), and say if that is
  // less than max_connections needs.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &files);
      ::getrlimit(RLIMIT_NOFILE, &files);
    }
    const rlim_t needed = static_cast<rlim_t>(s_.config.limits.maxConnections) + 64;
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < needed)
      s_.log->warning("http: open-files limit %Lu is below limits.max_connections + 64 = %Lu",
                      static_cast<Poco::UInt64>(files.rlim_cur), static_cast<Poco::UInt64>(needed));
  }
  s_.api = std::make_unique<HttpApi>(s_.config, s_.listen, *s_.registry, *s_.pipeline, *s_.store,
                                     *s_.journal, s_.metrics, *s_.log, *s_.clock);
  s_.api->setCases(s_.cases.get());
  s_.api->start();
  s_.log->information("http: listening on %s (port %hu)", s_.listen, s_.api->port());
}

void HttpSubsystem::uninitialize() {
  if (s_.api) s_.api->stop(4000);
  s_.api.reset();
}

}  // namespace dx
