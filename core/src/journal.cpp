#include "journal.h"

#include <vector>

#include "audit.h"
#include "receipt.h"
#include "this_thread.h"

namespace dx {

struct Journal::Job {
  // An accepted message (when `message` is set), or other work inside the transaction.
  const VerifiedMessage* message = nullptr;
  std::string client, answers, connector;
  std::function<void(Transaction&)> work;
  Result result{Outcome::Unavailable, {}, 0, {}, {}};
  std::promise<void> done;
  std::function<void(bool)> whenWritten;  // set: nobody waits; called, then the job deleted
};

AuditEntry Journal::Transaction::chained(AuditEntry entry) const {
  entry.seq = head_.seq + 1;
  entry.at = at;
  entry.hash = chainAuditHash(head_.hash, entry);
  return entry;
}

void Journal::Transaction::append(const AuditEntry& entry) {
  store.appendAudit(entry);
  head_ = {entry.seq, entry.hash};
}

void Journal::Transaction::audit(AuditEntry entry) {
  append(chained(std::move(entry)));
}

Journal::Journal(Store& store, const Signer& hub, const Clock& clock, Metrics& metrics,
                 std::size_t maxBatch)
    : store_(store), hub_(hub), clock_(clock), metrics_(metrics), maxBatch_(maxBatch) {
  std::promise<bool> started;
  std::future<bool> favoured = started.get_future();
  thread_ = std::thread([this, &started] {
    nameThisThread("dx-journal");
    started.set_value(adjustThisThreadNiceness(kNiceness));
    run();
  });
  favoured_ = favoured.get();
}

Journal::~Journal() {
  stop();
}

void Journal::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t Journal::queueDepth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Journal::enqueue(Job& job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      job.result = {Outcome::Unavailable, {}, 0, "the hub is shutting down", {}};
      finish(&job);
      return;
    }
    queue_.push_back(&job);
  }
  wake_.notify_one();
}

Journal::Result Journal::accept(const VerifiedMessage& message, const std::string& client,
                                const std::string& answers, const std::string& connector) {
  Job job;
  job.message = &message;
  job.client = client;
  job.answers = answers;
  job.connector = connector;
  std::future<void> done = job.done.get_future();
  enqueue(job);
  done.wait();
  return std::move(job.result);
}

bool Journal::write(std::function<void(Transaction&)> work) {
  Job job;
  job.work = std::move(work);
  std::future<void> done = job.done.get_future();
  enqueue(job);
  done.wait();
  return job.result.outcome != Outcome::Unavailable;
}

void Journal::writeLater(std::function<void(Transaction&)> work,
                         std::function<void(bool written)> whenWritten) {
  auto* job = new Job;
  job->work = std::move(work);
  job->whenWritten = std::move(whenWritten);
  enqueue(*job);
}

void Journal::finish(Job* job) {
  if (!job->whenWritten) {
    job->done.set_value();
    return;
  }
  job->whenWritten(job->result.outcome != Outcome::Unavailable);
  delete job;
}

bool Journal::record(AuditEntry entry, const std::string& state) {
  return write([&](Transaction& tx) {
    if (!state.empty()) tx.store.setState(entry.messageId, state, "");
    tx.audit(entry);
  });
}

void Journal::process(Job& job, Transaction& tx) {
  if (!job.message) {
    job.work(tx);
    job.result.outcome = Outcome::Accepted;
    return;
  }
  const VerifiedMessage& m = *job.message;
  std::string id(m.id());
  // The message's audit entry, the receipt that names it, then the row: inserted only if the id
  // is new. Only then does the entry join the chain.
  AuditEntry accepted = tx.chained({0,
                                    {},
                                    "accepted",
                                    id,
                                    m.digest,
                                    std::string(m.from()),
                                    std::string(m.to()),
                                    std::string(m.type()),
                                    "accepted",
                                    job.client,
                                    {}});
  MessageRecord row;
  row.seq = accepted.seq;
  row.id = id;
  row.type = m.type();
  row.from = m.from();
  row.to = m.to();
  row.ref = m.ref();
  row.caseId = m.caseId();
  row.created = m.created();
  row.acceptedAt = tx.at;
  row.digest = m.digest;
  row.jws = m.jws;
  row.receipt = hub_.sign(receiptPayload(hub_.participantId(), m.from(), id, m.digest, tx.at,
                                         accepted.seq, accepted.hash));
  row.state = "accepted";
  row.connector = job.connector;
  if (!store_.insertMessage(row)) {
    std::optional<std::pair<std::string, std::string>> existing = store_.writerFindDigest(id);
    if (!existing) throw StoreError("message " + id + " is neither new nor stored");
    job.result.outcome = existing->first == m.digest ? Outcome::Duplicate : Outcome::Conflict;
    job.result.receipt = existing->second;
    return;  // the caller records a conflict as a refusal
  }
  tx.append(accepted);
  AuditHead head = tx.head_;

  if (!job.answers.empty()) {  // a response closes what it answers
    tx.audit({0,
              {},
              "state",
              job.answers,
              "",
              std::string(m.from()),
              std::string(m.to()),
              "",
              "answered by " + id,
              job.client,
              {}});
    store_.setState(job.answers, "answered", "");
  }
  job.result = {Outcome::Accepted, std::move(row.receipt), head.seq, {}, tx.at};
}

void Journal::run() {
  std::vector<Job*> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      while (!queue_.empty() && batch.size() < maxBatch_) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    auto started = std::chrono::steady_clock::now();
    std::string at = formatRfc3339Millis(clock_.now());
    try {
      store_.begin();
      AuditHead head = store_.auditHead();
      Transaction tx(store_, head, at);
      for (Job* job : batch) process(*job, tx);
      store_.commit();
    } catch (const std::exception& e) {
      store_.rollback();
      for (Job* job : batch) job->result = {Outcome::Unavailable, {}, 0, e.what(), {}};
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_.observeCommit(seconds, batch.size());
    for (Job* job : batch) finish(job);
    batch.clear();
  }
}

}  // namespace dx
