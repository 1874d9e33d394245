#pragma once
// The hub's pipeline (DESIGN §5), in its order: parse → verify → authenticate → dedupe →
// freshness → authorize → validate → persist and audit → receipt. One entry point for every
// ingress (the HTTPS API and connector sources), so every message passes the same checks.
#include <atomic>
#include <cstdint>
#include <functional>
#include <semaphore>
#include <string>
#include <string_view>

#include "clock.h"
#include "config.h"
#include "journal.h"
#include "message_validator.h"
#include "metrics.h"
#include "policy.h"
#include "registry.h"
#include "store.h"

namespace dx {

struct Outcome {
  int status;             // HTTP status of DESIGN §6
  std::string code;       // "accepted", "duplicate", or the problem code
  std::string body;       // the receipt JWS, or the problem+json document
  std::string messageId;  // when known
  std::string type;       // when known
  bool isProblem() const { return status >= 400; }
};

// A problem as RFC 9457 problem+json with its stable `code`.
std::string problemJson(const Problem& problem, int status = 0);

class Pipeline {
 public:
  Pipeline(const HubConfig& config, const Registry& registry, const Policy& policy,
           const MessageValidator& validator, Store& store, Journal& journal, const Clock& clock,
           Metrics& metrics);

  // `client`: the participant of the caller's TLS client certificate; empty for a connector
  // source inside the hub (the message's own signature then is the only identity).
  // A message the hub signed itself (`from` is the hub, `client` empty) whose id is already
  // stored is "already done": 200 duplicate with the stored receipt, never id_conflict.
  Outcome submit(std::string_view jws, const std::string& client);

  // Where accepted messages go: `route(to, type)` names the connector that delivers them ("" for
  // the recipient's inbox), and `accepted(id)` is told after each one routed to a connector.
  void setRouting(std::function<std::string(const std::string& to, const std::string& type)> route,
                  std::function<void(const std::string& id)> accepted);

  // What the tracking callback is told of each message accepted.
  struct Accepted {
    const VerifiedMessage& message;  // as parsed and checked (its envelope)
    std::int64_t seq;                // its seq in the store
    std::string_view acceptedAt;     // when, as its row and receipt have it (RFC 3339)
    std::string_view answers;        // the message it answered (now "answered"), or empty
  };
  // `accepted` is told after every message accepted, on the accepting thread (the case tracker
  // listens).
  void setTracking(std::function<void(const Accepted&)> accepted);

  // Refusals found before the pipeline (size limit, content type, …): audited the same way.
  Outcome refuse(const Problem& problem, const std::string& client);

 private:
  Outcome refused(const Problem& problem, const std::string& client, std::string_view id = {},
                  std::string_view from = {}, std::string_view to = {}, std::string_view type = {},
                  std::string_view digest = {});

  const HubConfig& config_;
  const Registry& registry_;
  const Policy& policy_;
  const MessageValidator& validator_;
  Store& store_;
  Journal& journal_;
  const Clock& clock_;
  Metrics& metrics_;
  JsonLimits limits_;
  // The checks are CPU work (a signature per message): at most `limits.workers` run at once, so
  // the journal's one writer thread is not starved by dozens of verifying threads. Waiting for
  // the group commit holds no slot.
  std::counting_semaphore<1024> cpu_;
  std::function<std::string(const std::string&, const std::string&)> route_;
  std::function<void(const std::string&)> accepted_;
  std::function<void(const Accepted&)> tracked_;
};

}  // namespace dx
