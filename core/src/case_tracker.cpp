#include "case_tracker.h"

#include <algorithm>

#include <Poco/File.h>

#include "hub.h"
#include "stored_message.h"
#include "this_thread.h"

namespace dx {

namespace {

// The messages that wait for an answer by a deadline (a freeze.response, a notice.ack). An answer
// makes its request "answered" in the store.
const char* const kWatchedTypes[] = {"freeze.request", "notice.awareness"};
// A pass reads new rows of a watched type this many at a time; a batch with more than kFewUntold
// messages the pipeline did not tell of (a catch-up) has its whole rows read in one query.
constexpr std::size_t kBatch = 500, kFewUntold = 16;

bool isWatched(std::string_view type) {
  return std::find(std::begin(kWatchedTypes), std::end(kWatchedTypes), type) !=
         std::end(kWatchedTypes);
}

const rapidjson::Value& bodyOf(const rapidjson::Value& envelope) {
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  if (!envelope.IsObject()) return kEmpty;
  auto it = envelope.FindMember("body");
  return it == envelope.MemberEnd() ? kEmpty : it->value;
}

// A notice's respond_by is a date: it is due by the end of that day in India (+05:30).
std::int64_t endOfDayIst(const std::string& date) {
  return parseRfc3339(date + "T23:59:59+05:30").value_or(0);
}

std::string accountKey(const std::string& number, const std::string& ifsc) {
  return number + "/" + ifsc;
}

// Nearest-rank percentile of sorted values.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, int pct) {
  if (sorted.empty()) return -1;
  std::size_t rank = (sorted.size() * static_cast<std::size_t>(pct) + 99) / 100;
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

}  // namespace

std::int64_t deadlineOf(const HubConfig& config, std::string_view type, const std::string& to,
                        const rapidjson::Value& envelope,
                        const std::function<std::int64_t()>& acceptedAt) {
  std::string own = jsonString(bodyOf(envelope), "respond_by");
  if (type == "notice.awareness") return own.empty() ? 0 : endOfDayIst(own);
  // respondBy takes the request's own respond_by first; only without one is acceptedAt needed.
  return respondBy(config, to, parseRfc3339(own) ? 0 : acceptedAt(), own);
}

std::int64_t deadlineOf(const MessageRecord& m, const HubConfig& config) {
  return deadlineOf(config, m.type, m.to, storedEnvelope(m),
                    [&] { return parseRfc3339(m.acceptedAt).value_or(0); });
}

CaseTracker::CaseTracker(const HubConfig& config, Store& store, Pipeline& pipeline,
                         const Signer& hubSigner, const Clock& clock, Poco::Logger& log)
    : config_(config),
      store_(store),
      pipeline_(pipeline),
      hubSigner_(hubSigner),
      clock_(clock),
      log_(log) {
  for (const ParticipantConfig& p : config.participants) {
    if (p.role != "cyber_cell") continue;
    if (!Poco::File(p.chaseKey).exists()) {
      log_.warning("cases: no key for %s at %s; its chase drafts cannot be sent", p.id, p.chaseKey);
      continue;
    }
    try {
      cyberCellSigners_[p.id] = std::make_unique<Signer>(Signer::fromFiles(p.chaseKey, p.certs[0]));
    } catch (const std::exception& e) {
      throw std::runtime_error("participant " + p.id + ": chase_key " + p.chaseKey + ": " +
                               e.what());
    }
  }
}

CaseTracker::~CaseTracker() {
  stop();
}

void CaseTracker::start() {
  thread_ = std::thread([this] { run(); });
}

void CaseTracker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CaseTracker::accepted(const Pipeline::Accepted& a) {
  const VerifiedMessage& m = a.message;
  std::string_view type = m.type();
  // A request's or notice's deadline, from the envelope parsed already and the accepted time;
  // if that fails (it should not), the pass reads the message from the store instead.
  std::optional<Told> told;
  try {
    if (isWatched(type))
      told = Told{std::string(type), std::string(m.id()), a.seq,
                  deadlineOf(config_, type, std::string(m.to()), m.envelope,
                             [&] { return parseRfc3339(a.acceptedAt).value_or(0); })};
  } catch (const std::exception& e) {
    log_.warning("cases: %s %s: %s; the next pass reads it from the store", std::string(type),
                 std::string(m.id()), std::string(e.what()));
  }
  // Only a response calls for work at once (the chase); the rest waits for the next pass,
  // within a second.
  const bool chase = type == "freeze.response";
  {
    std::lock_guard lock(mutex_);
    if (told) told_.push_back(std::move(*told));
    if (!a.answers.empty()) answered_.emplace_back(a.answers);
    if (chase) toChase_.insert(std::string(m.caseId()));
  }
  if (chase) wake_.notify_all();
}

std::optional<std::int64_t> CaseTracker::watching(const std::string& id) {
  std::lock_guard one(tickMutex_);
  auto it = watched_.find(id);
  if (it == watched_.end()) return std::nullopt;
  return it->second;
}

std::int64_t CaseTracker::rowsParsed() {
  std::lock_guard one(tickMutex_);
  return rowsParsed_;
}

void CaseTracker::run() {
  nameThisThread("dx-cases");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      tick();
    } catch (const std::exception& e) {
      log_.error("cases: %s; trying again in a second", std::string(e.what()));
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !toChase_.empty(); });
  }
}

void CaseTracker::tick() {
  std::lock_guard one(tickMutex_);
  if (!caughtUp_) {
    // Responses that arrived while the hub was down (or before a crash let it chase them).
    std::set<std::string> cases;
    for (const MessageRecord& m : store_.byType("freeze.response", 0, -1)) cases.insert(m.caseId);
    std::lock_guard lock(mutex_);
    toChase_.insert(cases.begin(), cases.end());
    caughtUp_ = true;
  }
  watchNew();
  checkDeadlines();
  std::set<std::string> cases;
  {
    std::lock_guard lock(mutex_);
    cases.swap(toChase_);
  }
  for (const std::string& c : cases) chase(c);
}

void CaseTracker::watchNew() {
  std::vector<Told> told;
  std::vector<std::string> answered;
  {
    std::lock_guard lock(mutex_);
    told.swap(told_);
    answered.swap(answered_);
  }
  for (Told& t : told) known_[t.type].emplace(t.seq, std::move(t));
  // Every new row, narrowly: those the pipeline told of are watched with the deadline it gave;
  // the rest (another instance's, or from before a restart) are read whole and parsed.
  for (const char* type : kWatchedTypes) {
    std::int64_t& cursor = cursors_[type];
    std::map<std::int64_t, Told>& known = known_[type];
    for (;;) {
      // The cursor moves past a batch once it is done: a store failure has the next pass read it
      // again.
      const std::int64_t after = cursor;
      std::vector<MessageRecord> batch = store_.statesByType(type, after, kBatch);
      std::vector<std::string> untold;
      for (const MessageRecord& m : batch) {
        auto k = known.find(m.seq);
        const bool wasTold = k != known.end() && k->second.id == m.id;
        const std::int64_t deadline = wasTold ? k->second.deadline : 0;
        if (wasTold) known.erase(k);
        if (m.state == "answered") continue;
        if (!wasTold)
          untold.push_back(m.id);
        else if (deadline)
          watch(m.id, deadline);
      }
      std::map<std::string, MessageRecord> whole;
      if (untold.size() > kFewUntold)
        for (MessageRecord& m : store_.byType(type, after, kBatch))
          whole.emplace(m.id, std::move(m));
      for (const std::string& id : untold) {
        auto it = whole.find(id);
        std::optional<MessageRecord> m =
            it != whole.end() ? std::optional(std::move(it->second)) : store_.find(id);
        if (!m) continue;
        ++rowsParsed_;
        try {
          if (std::int64_t deadline = deadlineOf(*m, config_)) watch(id, deadline);
        } catch (const StoreError& e) {  // its stored bytes do not decode: nothing to watch
          log_.error("cases: %s; not watched", std::string(e.what()));
        }
      }
      if (!batch.empty()) cursor = batch.back().seq;
      if (batch.size() < kBatch) break;
    }
    // Told of, but the cursor is past its row: the pass read the row before the pipeline told of
    // it (and parsed it then). Watching it again is harmless; the store decides at its deadline.
    for (auto k = known.begin(); k != known.end() && k->first <= cursor; k = known.erase(k))
      if (k->second.deadline) watch(k->second.id, k->second.deadline);
  }
  // Answered through this instance: no longer watched. (An answer through another instance
  // is found in the store at the deadline.)
  for (const std::string& id : answered) unwatch(id);
}

void CaseTracker::watch(const std::string& id, std::int64_t deadline) {
  auto [it, added] = watched_.emplace(id, deadline);
  if (!added) {
    if (it->second == deadline) return;
    due_.erase({it->second, &it->first});
    it->second = deadline;
  }
  due_.emplace(deadline, &it->first);
}

void CaseTracker::unwatch(const std::string& id) {
  auto it = watched_.find(id);
  if (it == watched_.end()) return;
  due_.erase({it->second, &it->first});
  watched_.erase(it);
}

void CaseTracker::checkDeadlines() {
  // Only what is due, in deadline order.
  std::int64_t now = clock_.unixSeconds();
  std::vector<std::pair<std::int64_t, std::string>> due;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it)
    due.emplace_back(it->first, *it->second);
  for (const auto& [deadline, id] : due) {
    std::optional<MessageRecord> m = store_.find(id);
    if (!m || m->state == "answered") {
      unwatch(id);
      continue;
    }
    std::string detail = m->type == "freeze.request"
                             ? "no freeze.response from " + m->to + " by its respond-by time " +
                                   formatRfc3339(deadline)
                             : "no notice.ack from " + m->to + " by the end of its respond_by date";
    bool done = escalate(*m, m->from, detail);
    if (const ParticipantConfig* bank = config_.findParticipant(m->to);
        bank && !bank->escalateTo.empty())
      done = escalate(*m, bank->escalateTo, detail) && done;
    if (done) unwatch(id);
  }
}

bool CaseTracker::escalate(const MessageRecord& about, const std::string& to,
                           const std::string& detail) {
  std::string id = nameUuid("dx:escalation:deadline_passed:" + about.id + ":" + to);
  if (store_.find(id)) return true;
  std::string jws = hubSigner_.sign(escalationPayload(
      id, config_.hubId, to, about, "deadline_passed", detail, clock_.unixSeconds()));
  Outcome o = pipeline_.submit(jws, "");
  if (o.isProblem() && o.code != "id_conflict") {
    log_.error("cases: escalation about %s to %s refused: %s", about.id, to, o.body);
    return false;
  }
  log_.warning("cases: deadline passed for %s %s to %s; escalated to %s", about.type, about.id,
               about.to, to);
  return true;
}

void CaseTracker::chase(const std::string& caseId) {
  if (caseId.empty()) return;
  FreezeCase c = buildFreezeCase(caseId, store_.byCase(caseId), config_, clock_.unixSeconds());
  for (const ChaseDraft& d : chaseDrafts(c, config_)) {
    const ParticipantConfig* cell = config_.findParticipant(d.cyberCell);
    if (d.status != "pending" || !cell || cell->chase != "auto") continue;
    Outcome o = send(d);
    if (o.isProblem())
      log_.error("cases: chase of case %s to %s refused: %s", caseId, d.bank, o.body);
    else
      log_.information("cases: case %s: layer %d request %s sent to %s for %s", caseId, d.layer,
                       d.id, d.bank, formatMoney(d.amount));
  }
}

Outcome CaseTracker::send(const ChaseDraft& d) {
  auto signer = cyberCellSigners_.find(d.cyberCell);
  if (signer == cyberCellSigners_.end()) {
    Problem p{"no_signing_key", "the hub has no key to sign as " + d.cyberCell +
                                    "; set chase_key for it in the config"};
    return {problemStatus(p.code), p.code, problemJson(p), d.id, "freeze.request"};
  }
  std::string payload = chaseRequestPayload(d, config_, clock_.unixSeconds());
  return pipeline_.submit(signer->second->sign(payload), "");
}

void CaseTracker::indexAccounts() {
  std::lock_guard lock(indexMutex_);
  for (;;) {
    std::vector<MessageRecord> batch = store_.byType("freeze.request", accountCursor_, 500);
    for (const MessageRecord& m : batch) {
      accountCursor_ = m.seq;
      rapidjson::Document e = storedEnvelope(m);
      const rapidjson::Value& body = bodyOf(e);
      auto account = body.FindMember("account");
      if (account == body.MemberEnd()) continue;
      casesByAccount_[accountKey(jsonString(account->value, "number"),
                                 jsonString(account->value, "ifsc"))]
          .insert(m.caseId);
    }
    if (batch.size() < 500) break;
  }
}

FreezeCase CaseTracker::freezeCase(const std::string& caseId) {
  FreezeCase c = buildFreezeCase(caseId, store_.byCase(caseId), config_, clock_.unixSeconds());
  indexAccounts();
  std::lock_guard lock(indexMutex_);
  for (FreezeNode& n : c.requests)
    for (const std::string& other : casesByAccount_[accountKey(n.accountNumber, n.ifsc)])
      if (other != caseId) n.otherCases.push_back(other);
  return c;
}

std::vector<ChaseDraft> CaseTracker::drafts(const std::string& caseId) {
  return chaseDrafts(buildFreezeCase(caseId, store_.byCase(caseId), config_, clock_.unixSeconds()),
                     config_);
}

Outcome CaseTracker::approve(const std::string& caseId, const std::string& draftId,
                             const std::string& client) {
  auto problem = [&](const Problem& p) {
    return Outcome{problemStatus(p.code), p.code, problemJson(p), draftId, "freeze.request"};
  };
  for (const ChaseDraft& d : drafts(caseId)) {
    if (d.id != draftId) continue;
    if (client != d.cyberCell)
      return problem({"forbidden", "only " + d.cyberCell + " may approve its drafts"});
    if (d.status == "sent") {
      std::optional<MessageRecord> sent = store_.find(d.id);
      if (sent) return {200, "duplicate", sent->receipt, d.id, "freeze.request"};
    }
    if (d.status == "covered")
      return problem({"draft_not_pending",
                      "request " + d.coveredBy + " already asks this account for this money"});
    if (d.status == "unroutable")
      return problem({"draft_not_pending", "no bank in the config has the IFSC prefix " +
                                               d.ifsc.substr(0, 4) + "; ask the bank directly"});
    return send(d);
  }
  return problem({"not_found", "no such draft in case " + caseId});
}

std::vector<BankFigures> CaseTracker::bankReport() {
  std::map<std::string, std::int64_t> firstAnswer;  // request id → unix time of its first response
  for (const MessageRecord& r : store_.byType("freeze.response", 0, -1))
    firstAnswer.emplace(r.ref, parseRfc3339(r.acceptedAt).value_or(0));
  std::map<std::string, BankFigures> banks;
  std::map<std::string, std::vector<std::int64_t>> times;
  for (const ParticipantConfig& p : config_.participants)
    if (p.role == "bank") banks[p.id].bank = p.id;
  std::int64_t now = clock_.unixSeconds();
  for (const MessageRecord& m : store_.byType("freeze.request", 0, -1)) {
    BankFigures& b = banks[m.to];
    b.bank = m.to;
    ++b.requests;
    std::int64_t deadline = deadlineOf(m, config_);
    auto answer = firstAnswer.find(m.id);
    if (answer == firstAnswer.end()) {
      if (now > deadline) ++b.overdue;
      continue;
    }
    ++b.answered;
    if (answer->second <= deadline) ++b.inTime;
    times[m.to].push_back(answer->second - parseRfc3339(m.acceptedAt).value_or(0));
  }
  std::vector<BankFigures> out;
  for (auto& [id, b] : banks) {
    std::vector<std::int64_t>& t = times[id];
    std::sort(t.begin(), t.end());
    b.medianSeconds = percentile(t, 50);
    b.p90Seconds = percentile(t, 90);
    out.push_back(b);
  }
  return out;
}

}  // namespace dx
