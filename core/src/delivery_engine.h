#pragma once
// Delivery: every accepted message routed to a connector is handed to it until it is delivered
// or dead (DESIGN §5, STYLE "the core owns reliability").
//
// One scheduler thread picks due deliveries, first in first out per recipient, and each lane
// makes its deliver() calls on a thread of its own with a time limit, so a hung connector cannot
// stall the others.
// A recipient's deliveries go out in order through up to `in_flight` lanes (the connector's
// retry policy; 1 by default: one at a time). With more, they are started in order and may
// finish out of order; when one is not delivered, no lane starts another for that recipient
// until it is due again.
// Outcomes go through the journal: attempts, next-attempt time and last error are in the store
// (a restart resumes where it stopped; GET /v1/messages/{id} shows them), every outcome is in
// the audit log. Retry waits exponentially with full jitter; after the last attempt, or on
// Reject, the message is dead and the hub sends its sender a signed hub.escalation.
//
// Several hub instances may share one database: before each attempt the engine claims the
// delivery in the store (Store::claimDelivery) for `lease` plus the connector's timeout, so one
// instance at a time works it, and only a recipient's oldest pending message is ever claimed,
// so first in first out holds across instances too. The outcome's write ends the lease; an
// instance that dies holding one is replaced when it expires.
//
// A dead message's escalation is its own commit after the one that made it dead, and once it is
// stored, a third commit records that on the message (Store::setEscalated): a process killed in
// between leaves the message without them. So the engine sweeps, at start and then every
// `lease`: it asks the store for dead messages without that record and sends each its
// delivery_failed escalation (sweepEscalations). Safe with several instances and alongside the
// escalation a worker is sending at that moment: the escalation's id is derived from what it is
// about (hub.cpp) and is the table's unique key, so a second submission is a duplicate, stored
// once.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <Poco/Logger.h>

#include "clock.h"
#include "journal.h"
#include "metrics.h"
#include "plugin_host.h"
#include "store.h"

namespace dx {

class DeliveryEngine {
 public:
  // `escalate(message, reason, detail)` sends the hub.escalation (through the pipeline) and says
  // what became of it: stored (now, or before: its id is derived), to be tried again (the store
  // or the hub failed for now), or refused for good.
  enum class Escalated { Stored, Later, Refused };
  using Escalate = std::function<Escalated(const MessageRecord&, const std::string& reason,
                                           const std::string& detail)>;
  DeliveryEngine(PluginHost& plugins, Store& store, Journal& journal, const Clock& clock,
                 Metrics& metrics, Poco::Logger& log, Escalate escalate,
                 std::chrono::milliseconds lease = std::chrono::seconds(30), int maxWorkers = 32);
  ~DeliveryEngine();

  // Sends the escalations the store lacks (the sweep at start), then starts the scheduler.
  void start();
  // Stops picking new work and waits for attempts in flight (each is bounded by its timeout).
  void stop();
  // A message was accepted: look for work now rather than at the next poll (and time it, for the
  // accepted-to-delivered latency).
  void accepted(const std::string& id);
  void wake();

  // The lanes' niceness (and their call threads'), below the process's, when the process may:
  // a message accepted is a promise to deliver it, so delivery goes before accepting more. On
  // two shared cores at the process's niceness, ingest took the CPU and deliveries fell behind
  // (0.72-0.76 of ingest); 5 below it they kept up (0.98-1.01), with ingest 0.8-0.9x.
  static constexpr int kLaneNiceness = -5;

 private:
  void run();
  struct Recipient;
  // One lane of a recipient's deliveries: delivers `first`, then takes the recipient's next due
  // messages in order, until one is not delivered, none is due, or the engine stops; the last
  // lane to end frees the recipient.
  void deliverInOrder(std::optional<MessageRecord> first, std::shared_ptr<Recipient> recipient);
  // The recipient's next due message after the last one a lane took, unless one was refused.
  std::optional<MessageRecord> take(Recipient& recipient);
  // Starts a lane (the engine's mutex held); `first` empty: it takes its first message.
  void startLane(std::optional<MessageRecord> first, const std::shared_ptr<Recipient>& recipient);
  class Caller;
  // One attempt, its deliver() call made by `caller` (a new one if it has none, or a spent one);
  // false when the recipient's queue must wait (not delivered).
  bool attempt(const MessageRecord& pending, PluginEntry& plugin, std::unique_ptr<Caller>& caller);
  // Records the outcome through the journal without waiting for the commit; until it is
  // durable the message is in settling_, so the scheduler does not hand it out again.
  void settle(const MessageRecord& message, PluginEntry& plugin, const DeliveryResult& result);
  std::chrono::milliseconds backoff(const RetryPolicy& policy, int attempts);
  // Sends the delivery_failed escalation of each dead message that has none. At start
  // (`atStart`) every one found; later only those the sweep before found too, so that an
  // escalation on its way from a worker (here or in another instance) is not sent twice.
  void sweepEscalations(bool atStart);
  // Sends dead message `m`'s delivery_failed escalation and, once it is stored, records that.
  Escalated escalateDead(const MessageRecord& m, const std::string& detail);

  PluginHost& plugins_;
  Store& store_;
  Journal& journal_;
  const Clock& clock_;
  Metrics& metrics_;
  Poco::Logger& log_;
  Escalate escalate_;
  std::chrono::milliseconds lease_;
  int maxWorkers_;
  int widest_ = 1;  // the largest in_flight of any connector
  const std::string owner_;  // this instance in the store's leases: host, pid and a random part

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Recipient>> busy_;  // recipients with lanes running
  std::set<std::string> settling_;  // messages whose outcome is not yet durable
  std::map<std::string, std::chrono::steady_clock::time_point> acceptedAt_;  // since this start
  int running_ = 0;                 // lanes running, of all recipients
  int unwritten_ = 0;               // outcomes handed to the journal, not yet written
  bool woken_ = false, stopping_ = false;
  std::mt19937_64 random_{std::random_device{}()};
  // The sweep's memory (start(), then the scheduler): dead messages without escalation at the
  // last sweep, and those whose escalation the pipeline refused (not tried again until a
  // restart).
  std::set<std::string> sweepFound_, sweepRefused_;
  std::thread scheduler_;
};

}  // namespace dx
