#include "delivery_engine.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "jws.h"
#include "this_thread.h"

namespace dx {

namespace {

// The message as a connector sees it, with the envelope JSON decoded from the stored JWS.
Message toMessage(const MessageRecord& r) {
  Expected<JwsParts> parts = splitJws(r.jws, {});
  return {r.id,      r.type, r.from,
          r.to,      r.ref,  r.caseId,
          r.created, r.jws,  parts ? parts->payload : std::string(),
          r.digest};
}

std::int64_t unixMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch())
      .count();
}

}  // namespace

// A lane's deliver() calls, made one at a time on a thread of its own that is kept between
// calls (a thread started per call cost more than the call's own work at peak: the start, the
// stack's pages, and its release flushing every CPU's TLB). A call that does not return within
// its timeout is left to finish by itself: its connector stays marked as having a call in
// flight, so it is never destroyed under it, and this Caller is spent (the lane takes a new one).
class DeliveryEngine::Caller {
 public:
  Caller() : state_(std::make_shared<State>()) {
    std::thread([s = state_] {
      nameThisThread("dx-call");
      s->run();
    }).detach();
  }
  ~Caller() { state_->close(); }  // its thread ends once any call it is in returns
  Caller(const Caller&) = delete;
  Caller& operator=(const Caller&) = delete;

  bool spent() const { return spent_; }

  // nullopt when the call did not return within `timeout`.
  std::optional<DeliveryResult> call(PluginEntry& plugin, const Message& message,
                                     std::chrono::milliseconds timeout) {
    Connector* connector = plugin.connector.get();
    ++plugin.callsInFlight;
    std::unique_lock lock(state_->mutex);
    state_->job = [connector, message, &plugin] {
      DeliveryResult r = DeliveryResult::retry("connector threw an exception");
      try {
        r = connector->deliver(message);
      } catch (const std::exception& e) {
        r = DeliveryResult::retry(std::string("connector threw: ") + e.what());
      } catch (...) {
      }
      --plugin.callsInFlight;
      return r;
    };
    state_->changed.notify_all();
    if (!state_->changed.wait_for(lock, timeout, [&] { return state_->result.has_value(); })) {
      spent_ = true;
      return std::nullopt;
    }
    std::optional<DeliveryResult> r = std::move(state_->result);
    state_->result.reset();
    return r;
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    std::function<DeliveryResult()> job;
    std::optional<DeliveryResult> result;
    bool closing = false;

    void run() {
      std::unique_lock lock(mutex);
      for (;;) {
        changed.wait(lock, [&] { return job || closing; });
        if (!job) return;  // closing, and no call left
        std::function<DeliveryResult()> work = std::move(job);
        job = nullptr;
        lock.unlock();
        DeliveryResult r = work();
        lock.lock();
        result = std::move(r);
        changed.notify_all();
      }
    }
    void close() {
      std::lock_guard lock(mutex);
      closing = true;
      changed.notify_all();
    }
  };
  std::shared_ptr<State> state_;
  bool spent_ = false;
};

namespace {

// Names this process among the hub instances sharing a database.
std::string instanceName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + newUuid().substr(0, 8);
}

}  // namespace

// The lanes delivering to one recipient.
struct DeliveryEngine::Recipient {
  Recipient(std::string id, PluginEntry& p) : to(std::move(id)), plugin(p) {}
  const std::string to;
  PluginEntry& plugin;
  std::mutex taking;        // one lane at a time looks for the next message
  std::int64_t cursor = 0;  // the seq of the last message a lane took (under `taking`)
  int lanes = 0;            // under the engine's mutex
  bool refused = false;     // under the engine's mutex: one was not delivered; take no more
};

DeliveryEngine::DeliveryEngine(PluginHost& plugins, Store& store, Journal& journal,
                               const Clock& clock, Metrics& metrics, Poco::Logger& log,
                               Escalate escalate, std::chrono::milliseconds lease, int maxWorkers)
    : plugins_(plugins),
      store_(store),
      journal_(journal),
      clock_(clock),
      metrics_(metrics),
      log_(log),
      escalate_(std::move(escalate)),
      lease_(lease),
      maxWorkers_(maxWorkers),
      owner_(instanceName()) {
  for (const auto& plugin : plugins_.entries())
    widest_ = std::max(widest_, plugin->retry.inFlight);
}

DeliveryEngine::~DeliveryEngine() {
  stop();
}

void DeliveryEngine::start() {
  // Before anything else submits from this engine's threads; the case tracker starts after.
  sweepEscalations(true);
  scheduler_ = std::thread([this] { run(); });
}

void DeliveryEngine::accepted(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    if (acceptedAt_.size() < 1000000) acceptedAt_.emplace(id, std::chrono::steady_clock::now());
    woken_ = true;
  }
  changed_.notify_all();
}

void DeliveryEngine::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  changed_.notify_all();
}

void DeliveryEngine::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !scheduler_.joinable()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return running_ == 0 && unwritten_ == 0; });
}

std::chrono::milliseconds DeliveryEngine::backoff(const RetryPolicy& policy, int attempts) {
  // Full jitter: uniform in [0, min(cap, initial · 2^(attempts-1))].
  double ceiling = static_cast<double>(policy.initialBackoff.count()) *
                   std::pow(2.0, std::min(attempts - 1, 30));
  ceiling = std::min(ceiling, static_cast<double>(policy.maxBackoff.count()));
  std::uniform_real_distribution<double> pick(0, ceiling);
  std::lock_guard lock(mutex_);
  return std::chrono::milliseconds(static_cast<std::int64_t>(pick(random_)));
}

void DeliveryEngine::run() {
  nameThisThread("dx-delivery");
  std::unique_lock lock(mutex_);
  auto nextSweep = std::chrono::steady_clock::now() + lease_;
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    if (std::chrono::steady_clock::now() >= nextSweep) {
      sweepEscalations(false);
      nextSweep = std::chrono::steady_clock::now() + lease_;
    }
    // Wakes coalesce: under load, one scan every few milliseconds serves many accepted messages.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // Each recipient's queue: its oldest few, as many as the widest in_flight (enough to know
    // how many lanes it may use), never the whole of a long queue.
    std::vector<std::vector<MessageRecord>> queues;
    try {
      for (const std::string& to : store_.pendingRecipients())
        queues.push_back(store_.pendingFor(to, widest_));
    } catch (const std::exception& e) {
      log_.error("delivery: cannot read pending deliveries: %s", std::string(e.what()));
    }
    std::int64_t now = unixMs(clock_);
    std::int64_t nextDue = now + 1000;  // look again at least every second
    lock.lock();
    for (std::vector<MessageRecord>& queue : queues) {
      if (queue.empty()) continue;  // delivered since the recipient was listed
      // How many are due: the lanes it may use (up to its connector's in_flight).
      int due = 0;
      for (const MessageRecord& m : queue)
        if (m.nextAttemptAt <= now && !settling_.count(m.id)) ++due;
      MessageRecord& m = queue.front();  // first in first out: only the oldest is eligible
      std::shared_ptr<Recipient> r;
      if (auto b = busy_.find(m.to); b != busy_.end()) {
        r = b->second;  // its lanes take what follows themselves; more lanes if more is due
      } else {
        if (settling_.count(m.id)) continue;  // its outcome is being written: the queue waits
        PluginEntry* plugin = plugins_.find(m.connector);
        if (!plugin) continue;  // its connector is no longer configured: it waits in the inbox
        if (m.nextAttemptAt > now) {
          nextDue = std::min(nextDue, m.nextAttemptAt);
          continue;
        }
        // Another instance works this recipient now: look again when its lease ends.
        if (m.leaseUntil > now && m.leaseOwner != owner_) {
          nextDue = std::min(nextDue, m.leaseUntil);
          continue;
        }
        if (running_ >= maxWorkers_) continue;
        r = std::make_shared<Recipient>(m.to, *plugin);
        r->cursor = m.seq;
        busy_.emplace(m.to, r);
        startLane(std::move(m), r);
      }
      while (!r->refused && r->lanes < std::min(r->plugin.retry.inFlight, due) &&
             running_ < maxWorkers_)
        startLane(std::nullopt, r);
    }
    changed_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(1, nextDue - now)),
                      [&] { return stopping_ || woken_; });
  }
}

void DeliveryEngine::startLane(std::optional<MessageRecord> first,
                               const std::shared_ptr<Recipient>& recipient) {
  ++recipient->lanes;
  ++running_;
  std::thread([this, first = std::move(first), recipient]() mutable {
    nameThisThread("dx-lane");
    adjustThisThreadNiceness(kLaneNiceness);  // its Caller's thread inherits it
    deliverInOrder(std::move(first), recipient);
  }).detach();
}

std::optional<MessageRecord> DeliveryEngine::take(Recipient& r) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || r.refused) return std::nullopt;
  }
  std::lock_guard taking(r.taking);
  std::optional<MessageRecord> next;
  try {
    next = store_.nextPendingFor(r.to, r.cursor);
  } catch (const std::exception&) {
    return std::nullopt;  // the scheduler's next scan picks it up
  }
  if (!next || next->connector != r.plugin.name || next->nextAttemptAt > unixMs(clock_))
    return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    if (settling_.count(next->id)) return std::nullopt;
  }
  r.cursor = next->seq;
  return next;
}

void DeliveryEngine::deliverInOrder(std::optional<MessageRecord> next,
                                    std::shared_ptr<Recipient> recipient) {
  std::unique_ptr<Caller> caller;
  if (!next) next = take(*recipient);
  while (next) {
    if (!attempt(*next, recipient->plugin, caller)) {
      std::lock_guard lock(mutex_);
      recipient->refused = true;
      break;
    }
    next = take(*recipient);
  }
  {
    std::lock_guard lock(mutex_);
    if (--recipient->lanes == 0) busy_.erase(recipient->to);
    --running_;
    woken_ = true;
  }
  changed_.notify_all();
}

bool DeliveryEngine::attempt(const MessageRecord& pending, PluginEntry& plugin,
                             std::unique_ptr<Caller>& caller) {
  auto started = std::chrono::steady_clock::now();
  std::optional<MessageRecord> stored;
  try {
    // Ours until the lease ends: long enough for the attempt's timeout and its outcome's write.
    std::int64_t now = unixMs(clock_);
    if (!store_.claimDelivery(pending.id, owner_, now,
                              now + (lease_ + plugin.retry.timeout).count()))
      return false;  // another instance works it (or it is done): the next scan looks again
    stored = store_.find(pending.id);
  } catch (const std::exception& e) {
    log_.error("delivery: cannot read %s: %s", pending.id, std::string(e.what()));
  }
  if (!stored) return false;  // unreadable now: the next scan tries again
  // The scan that chose it may have read the store before its last outcome was written: the
  // fresh row decides (already delivered, dead or answered; or not due yet after a retry).
  if ((stored->state != "accepted" && stored->state != "delivering") ||
      stored->nextAttemptAt > unixMs(clock_))
    return false;
  if (!caller || caller->spent()) caller = std::make_unique<Caller>();
  std::optional<DeliveryResult> result =
      caller->call(plugin, toMessage(*stored), plugin.retry.timeout);
  if (!result)
    result = DeliveryResult::retry("no answer from " + plugin.name + " within " +
                                   std::to_string(plugin.retry.timeout.count()) + " ms");
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.observeDelivery(plugin.name, seconds);
  settle(*stored, plugin, *result);
  return result->kind == DeliveryResult::Kind::Delivered;
}

void DeliveryEngine::settle(const MessageRecord& m, PluginEntry& plugin,
                            const DeliveryResult& result) {
  int attempts = m.attempts + 1;
  std::int64_t now = unixMs(clock_);
  std::optional<std::int64_t> accepted = parseRfc3339(m.acceptedAt);
  bool tooOld = accepted && (now / 1000 - *accepted) > plugin.retry.maxAge.count();
  std::string state, event, outcome;
  std::int64_t next = 0;
  switch (result.kind) {
    case DeliveryResult::Kind::Delivered:
      state = "delivered";
      event = "delivered";
      outcome = "delivered by " + plugin.name + " (attempt " + std::to_string(attempts) + ")";
      break;
    case DeliveryResult::Kind::Retry:
      if (attempts >= plugin.retry.maxAttempts || tooOld) {
        state = "dead";
        event = "dead";
        outcome = "gave up after " + std::to_string(attempts) + " attempts: " + result.reason;
      } else {
        state = "delivering";
        event = "retry";
        next = now + backoff(plugin.retry, attempts).count();
        outcome = result.reason;
      }
      break;
    case DeliveryResult::Kind::Reject:
      state = "dead";
      event = "dead";
      outcome = "rejected by " + plugin.name + ": " + result.reason;
      break;
  }
  metrics_.countDelivery(plugin.name, event);
  {
    std::lock_guard lock(mutex_);
    settling_.insert(m.id);
    ++unwritten_;
    if (state != "delivering") {
      auto it = acceptedAt_.find(m.id);
      if (it != acceptedAt_.end()) {
        if (state == "delivered")
          metrics_.observeDeliveryLatency(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count());
        acceptedAt_.erase(it);
      }
    }
  }
  journal_.writeLater(
      [m, state, event, outcome, attempts, next, reason = result.reason,
       connector = plugin.name](Journal::Transaction& tx) {
        tx.store.setDelivery(m.id, state, attempts, reason, next);
        tx.audit({0, {}, event, m.id, m.digest, m.from, m.to, m.type, outcome, connector, {}});
      },
      [this, id = m.id](bool written) {
        if (!written)
          log_.error("delivery: the outcome for %s was not stored; it will be retried", id);
        {
          std::lock_guard lock(mutex_);
          settling_.erase(id);
          --unwritten_;
          woken_ = true;
        }
        changed_.notify_all();
      });
  log_.information("delivery %s %s -> %s via %s: %s", m.type, m.id.substr(0, 8), m.to, plugin.name,
                   event + (result.reason.empty() ? "" : " (" + result.reason + ")"));
  // If this process ends before the escalation is stored, the sweep sends it (at the next start
  // here, or on another instance).
  if (state == "dead") escalateDead(m, outcome);
}

DeliveryEngine::Escalated DeliveryEngine::escalateDead(const MessageRecord& m,
                                                       const std::string& detail) {
  Escalated e = escalate_(m, "delivery_failed", detail);
  if (e == Escalated::Stored &&
      !journal_.write([&](Journal::Transaction& tx) { tx.store.setEscalated(m.id); }))
    log_.error("delivery: the escalation of %s is stored, not the record of it; the sweep sends "
               "it again (a duplicate)", m.id);
  return e;
}

void DeliveryEngine::sweepEscalations(bool atStart) {
  constexpr int kPage = 500;
  std::set<std::string> found;
  std::int64_t after = 0;
  for (;;) {
    std::vector<MessageRecord> page;
    try {
      page = store_.deadWithoutEscalation(after, kPage);
    } catch (const std::exception& e) {
      log_.error("delivery: cannot look for dead messages without escalation: %s",
                 std::string(e.what()));
      return;  // the next sweep looks again
    }
    for (const MessageRecord& m : page) {
      after = m.seq;
      if (sweepRefused_.count(m.id)) continue;
      found.insert(m.id);
      if (!atStart && !sweepFound_.count(m.id)) continue;  // maybe on its way: next sweep
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      log_.warning("delivery: %s %s is dead without its escalation; sending it", m.type, m.id);
      // The detail says what the store still knows: the last error of the last attempt.
      if (escalateDead(m, "gave up after " + std::to_string(m.attempts) +
                              " attempts: " + m.lastError) == Escalated::Refused)
        sweepRefused_.insert(m.id);
    }
    if (page.size() < static_cast<std::size_t>(kPage)) break;
  }
  sweepFound_ = std::move(found);
}

}  // namespace dx
