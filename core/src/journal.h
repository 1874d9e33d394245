#pragma once
// The journal: the one writer of the store. It takes accepted messages, refusals and state
// changes from many threads, writes them in batches (group commit: requests that arrive together
// share one transaction and one fsync), chains each audit entry, and signs each receipt inside
// the transaction that stores it. A caller gets its receipt only after that transaction is
// durably committed.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "clock.h"
#include "jws.h"
#include "metrics.h"
#include "store.h"

namespace dx {

class Journal {
 public:
  enum class Outcome { Accepted, Duplicate, Conflict, Unavailable };
  struct Result {
    Outcome outcome;
    std::string receipt;  // Accepted, Duplicate and Conflict: the (stored) receipt JWS
    std::int64_t seq = 0;
    std::string detail;      // Unavailable: why
    std::string acceptedAt;  // Accepted: the time in its row and receipt (the batch's)
  };

  // `hub` signs receipts; `maxBatch` caps one transaction.
  Journal(Store& store, const Signer& hub, const Clock& clock, Metrics& metrics,
          std::size_t maxBatch = 256);
  ~Journal();  // stops after writing everything queued

  // Stores a verified, checked message and its "accepted" audit entry, and signs its receipt.
  // Blocks until durable. Duplicate: same id and digest already stored (its receipt is returned
  // byte for byte); Conflict: same id, another digest. The stored id decides (a unique key, so
  // also across hub instances sharing a database); a duplicate or conflict in a batch leaves
  // the rest of the batch as it is.
  // `connector`: the connector that will deliver it ("" for the recipient's inbox).
  Result accept(const VerifiedMessage& message, const std::string& client,
                const std::string& answers = {}, const std::string& connector = {});
  // Appends an audit entry (a refusal, a state change); `state` also sets the message's state.
  // Blocks until durable; false if the store failed.
  bool record(AuditEntry entry, const std::string& state = {});

  // Inside one of the journal's transactions: the store's writer side, and audit entries that
  // join the chain in order.
  class Transaction {
   public:
    Store& store;
    const std::string& at;  // this batch's time, RFC 3339
    void audit(AuditEntry entry);

   private:
    friend class Journal;
    Transaction(Store& s, AuditHead& h, const std::string& a) : store(s), at(a), head_(h) {}
    // The entry as it would join the chain next (seq, at, hash), not yet stored.
    AuditEntry chained(AuditEntry entry) const;
    void append(const AuditEntry& chainedEntry);
    AuditHead& head_;
  };
  // Runs `work` inside the next group commit; blocks until durable. False if the store failed
  // (nothing of `work` remains). `work` must only write: it runs on the journal's thread.
  bool write(std::function<void(Transaction&)> work);
  // The same without waiting: `whenWritten(true)` is called on the journal's thread once the
  // work is durable, `whenWritten(false)` if the store failed (nothing of it remains).
  void writeLater(std::function<void(Transaction&)> work,
                  std::function<void(bool written)> whenWritten);

  // Stops accepting work and writes what is queued; idempotent.
  void stop();
  std::size_t queueDepth() const;

  // Every receipt waits for the journal's one thread, which shares the CPUs with the request
  // threads; it asks for this much below the process's niceness, so that it waits least for a
  // CPU. favoured(): it got it.
  static constexpr int kNiceness = -10;
  bool favoured() const { return favoured_; }

 private:
  struct Job;
  void run();
  void process(Job& job, Transaction& tx);
  void enqueue(Job& job);
  void finish(Job* job);

  Store& store_;
  const Signer& hub_;
  const Clock& clock_;
  Metrics& metrics_;
  std::size_t maxBatch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  bool favoured_ = false;
  std::thread thread_;
};

}  // namespace dx
