#include "pipeline.h"

#include <algorithm>
#include <cstdlib>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "domain_checks.h"

namespace dx {

std::string problemJson(const Problem& problem, int status) {
  if (status == 0) status = problemStatus(problem.code);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("type");
  w.String(("urn:dx:problem:" + problem.code).c_str());
  w.Key("title");
  w.String(problemTitle(problem.code));
  w.Key("status");
  w.Int(status);
  w.Key("detail");
  w.String(problem.detail);
  w.Key("code");
  w.String(problem.code);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

namespace {
// A type of the contract (DESIGN §4), not just whatever a sender wrote there.
bool isContractType(std::string_view type) {
  const std::vector<std::string>& types = MessageValidator::types();
  return std::find(types.begin(), types.end(), type) != types.end();
}
}  // namespace

Pipeline::Pipeline(const HubConfig& config, const Registry& registry, const Policy& policy,
                   const MessageValidator& validator, Store& store, Journal& journal,
                   const Clock& clock, Metrics& metrics)
    : config_(config),
      registry_(registry),
      policy_(policy),
      validator_(validator),
      store_(store),
      journal_(journal),
      clock_(clock),
      metrics_(metrics),
      cpu_(std::min(config.limits.workers, 1024)) {
  limits_.maxBytes = config.limits.maxBodyBytes;
}

void Pipeline::setRouting(
    std::function<std::string(const std::string& to, const std::string& type)> route,
    std::function<void(const std::string& id)> accepted) {
  route_ = std::move(route);
  accepted_ = std::move(accepted);
}

void Pipeline::setTracking(std::function<void(const Accepted&)> accepted) {
  tracked_ = std::move(accepted);
}

Outcome Pipeline::refuse(const Problem& problem, const std::string& client) {
  return refused(problem, client);
}

Outcome Pipeline::refused(const Problem& problem, const std::string& client, std::string_view id,
                          std::string_view from, std::string_view to, std::string_view type,
                          std::string_view digest) {
  int status = problemStatus(problem.code);
  // Every refusal is in the audit log: what was claimed, who the TLS client was, and why. The
  // id, type and names of a refused message are the sender's, unchecked: the audit log, the
  // metrics (served without a client certificate) and the log line take them only when they are
  // what the hub knows — a UUID, a type of the contract, a registered participant — so neither
  // a number written into them (an Aadhaar number as the id, say) nor an endless set of metric
  // labels gets in.
  auto known = [&](std::string_view name) {
    return registry_.find(name) ? std::string(name) : std::string();
  };
  std::string shownId = isUuid(id) ? std::string(id) : std::string();
  std::string shownType = type.empty() || isContractType(type) ? std::string(type) : "other";
  AuditEntry entry{0,           {},        "refused", shownId,      std::string(digest),
                   known(from), known(to), shownType, problem.code, known(client),
                   {}};
  if (!journal_.record(std::move(entry)) && problem.code != "store_unavailable") {
    Problem unavailable{"store_unavailable", "the hub cannot write its audit log; retry later"};
    metrics_.countMessage(shownType, unavailable.code);
    return {503, unavailable.code, problemJson(unavailable), shownId, shownType};
  }
  metrics_.countMessage(shownType, problem.code);
  return {status, problem.code, problemJson(problem, status), shownId, shownType};
}

namespace {
// Holds one CPU slot until released or destroyed.
class CpuSlot {
 public:
  explicit CpuSlot(std::counting_semaphore<1024>& s) : s_(&s) { s_->acquire(); }
  ~CpuSlot() { release(); }
  void release() {
    if (s_) s_->release();
    s_ = nullptr;
  }

 private:
  std::counting_semaphore<1024>* s_;
};
}  // namespace

Outcome Pipeline::submit(std::string_view jws, const std::string& client) {
  CpuSlot slot(cpu_);
  std::int64_t now = clock_.unixSeconds();

  // parse + verify
  Expected<VerifiedMessage> verified = verifyJws(jws, registry_, now, limits_);
  if (!verified) {
    slot.release();
    return refused(verified.problem(), client);
  }
  VerifiedMessage& m = verified.value();
  std::string_view id = m.id(), type = m.type(), from = m.from(), to = m.to();
  auto refuse = [&](Problem p) {
    slot.release();
    return refused(p, client, id, from, to, type, m.digest);
  };

  // authenticate: the TLS client must be the signer.
  if (!client.empty() && client != from)
    return refuse({"forbidden", "the client certificate is " + client +
                                    "'s, but the message is signed by " + std::string(from)});

  // dedupe: the same id again is the same message (the original receipt), or a conflict. It
  // comes before every other check, so that a client may always retry safely, even once its
  // message has gone stale. The journal finds a stored id when it writes (a unique key), so a
  // message that passes the checks below needs no lookup here; a refusal from them first looks
  // whether the id is stored, and answers as the dedupe would have.
  // The hub's own messages (escalations, chase requests) have ids derived from what they are
  // about, so that what one hub instance has sent another does not send again: for them a
  // stored id means "already done", whatever its digest (its `created` differs).
  if (id.empty()) return refuse({"schema", "envelope: id is required (a UUID)"});
  const bool hubsOwn = client.empty() && from == config_.hubId;
  // The answer to a stored id: its receipt (the same digest, or the hub's own), or a conflict.
  auto stored = [&](bool sameDigest, std::string receipt) -> Outcome {
    if (!sameDigest && !hubsOwn)
      return refuse({"id_conflict", "message id " + std::string(id) +
                                        " was already used for a different message"});
    metrics_.countMessage(type, "duplicate");
    return {200, "duplicate", std::move(receipt), std::string(id), std::string(type)};
  };
  auto refuseUnlessStored = [&](Problem p) {
    if (std::optional<MessageRecord> existing = store_.find(std::string(id)))
      return stored(existing->digest == m.digest, std::move(existing->receipt));
    return refuse(std::move(p));
  };

  // freshness
  std::optional<std::int64_t> created = parseRfc3339(m.created());
  if (!created)
    return refuseUnlessStored({"schema", "envelope: created must be an RFC 3339 time with offset"});
  if (std::int64_t off = *created - now; std::llabs(off) > config_.limits.freshnessSeconds) {
    // In days past one day: a far-off time in seconds is a 12-digit number, which a reader (or
    // the leak scan) cannot tell from an Aadhaar number.
    std::string by = std::llabs(off) < 86400 ? std::to_string(off) + " s"
                                             : std::to_string(off / 86400) + " days";
    return refuseUnlessStored({"stale", "created is " + by + " from the hub's clock; allowed is ±" +
                                            std::to_string(config_.limits.freshnessSeconds) +
                                            " s"});
  }

  // authorize
  const Participant* recipient = registry_.find(to);
  if (!recipient)
    return refuseUnlessStored({"forbidden", "recipient is not a registered participant"});
  const PolicyRule* rule = policy_.find(m.sender().role, std::string(type), recipient->role);
  if (!rule)
    return refuseUnlessStored(
        {"forbidden", "a " + m.sender().role + " may not send " +
                          (isContractType(type) ? std::string(type) : "this type") + " to a " +
                          recipient->role});
  std::string answers;
  if (rule->ref) {
    if (m.ref().empty())
      return refuseUnlessStored({"schema", "envelope: ref is required on " + std::string(type)});
    std::optional<ReferencedMessage> referenced;
    if (std::optional<MessageRecord> r = store_.find(std::string(m.ref())))
      referenced = ReferencedMessage{r->type, r->from, r->to};
    if (auto p = Policy::checkRef(*rule, std::string(from), std::string(to), referenced))
      return refuseUnlessStored(*p);
    answers = m.ref();
  }

  // validate
  if (std::optional<Problem> p = validator_.validate(m.envelope)) return refuseUnlessStored(*p);

  // persist and audit, then the receipt
  slot.release();
  std::string connector = route_ ? route_(std::string(to), std::string(type)) : std::string();
  if (rule->ref && !rule->ref->reverse) answers.clear();  // sent the same way: no answer
  Journal::Result r = journal_.accept(m, client, answers, connector);
  switch (r.outcome) {
    case Journal::Outcome::Accepted:
      metrics_.countMessage(type, "accepted");
      if (!connector.empty() && accepted_) accepted_(std::string(id));
      if (tracked_) tracked_({m, r.seq, r.acceptedAt, answers});
      return {202, "accepted", std::move(r.receipt), std::string(id), std::string(type)};
    case Journal::Outcome::Duplicate:
    case Journal::Outcome::Conflict:
      return stored(r.outcome == Journal::Outcome::Duplicate, std::move(r.receipt));
    case Journal::Outcome::Unavailable:
      break;
  }
  Problem unavailable{"store_unavailable", "the hub could not store the message; retry later"};
  metrics_.countMessage(type, unavailable.code);
  return {503, unavailable.code, problemJson(unavailable), std::string(id), std::string(type)};
}

}  // namespace dx
