#include "journal.h"

#include <vector>

#include "audit.h"
#include "receipt.h"

namespace dx {

struct Journal::Job {
  // An accepted message (when `message` is set) or a bare audit entry.
  const VerifiedMessage* message = nullptr;
  std::string client, answers;
  AuditEntry entry;
  std::string state;
  Result result{Outcome::Unavailable, {}, 0, {}};
  std::promise<void> done;
};

Journal::Journal(Store& store, const Signer& hub, const Clock& clock, Metrics& metrics,
                 std::size_t maxBatch)
    : store_(store),
      hub_(hub),
      clock_(clock),
      metrics_(metrics),
      maxBatch_(maxBatch),
      thread_([this] { run(); }) {}

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

Journal::Result Journal::accept(const VerifiedMessage& message, const std::string& client,
                                const std::string& answers) {
  Job job;
  job.message = &message;
  job.client = client;
  job.answers = answers;
  std::future<void> done = job.done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return {Outcome::Unavailable, {}, 0, "the hub is shutting down"};
    queue_.push_back(&job);
  }
  wake_.notify_one();
  done.wait();
  return std::move(job.result);
}

bool Journal::record(AuditEntry entry, const std::string& state) {
  Job job;
  job.entry = std::move(entry);
  job.state = state;
  std::future<void> done = job.done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(&job);
  }
  wake_.notify_one();
  done.wait();
  return job.result.outcome != Outcome::Unavailable;
}

void Journal::process(Job& job, AuditHead& head, const std::string& at) {
  if (!job.message) {
    job.entry.seq = head.seq + 1;
    job.entry.at = at;
    job.entry.hash = chainAuditHash(head.hash, job.entry);
    store_.appendAudit(job.entry);
    if (!job.state.empty()) store_.setState(job.entry.messageId, job.state, "");
    head = {job.entry.seq, job.entry.hash};
    job.result.outcome = Outcome::Accepted;
    return;
  }
  const VerifiedMessage& m = *job.message;
  std::string id(m.id());
  if (auto existing = store_.writerFindDigest(id)) {
    job.result.outcome = existing->first == m.digest ? Outcome::Duplicate : Outcome::Conflict;
    if (job.result.outcome == Outcome::Duplicate) job.result.receipt = existing->second;
    return;  // the caller records a conflict as a refusal
  }
  AuditEntry entry{head.seq + 1,
                   at,
                   "accepted",
                   id,
                   m.digest,
                   std::string(m.from()),
                   std::string(m.to()),
                   std::string(m.type()),
                   "accepted",
                   job.client,
                   {}};
  entry.hash = chainAuditHash(head.hash, entry);
  store_.appendAudit(entry);
  head = {entry.seq, entry.hash};

  MessageRecord row;
  row.seq = entry.seq;
  row.id = id;
  row.type = m.type();
  row.from = m.from();
  row.to = m.to();
  row.ref = m.ref();
  row.caseId = m.caseId();
  row.created = m.created();
  row.acceptedAt = at;
  row.digest = m.digest;
  row.jws = m.jws;
  row.receipt = hub_.sign(
      receiptPayload(hub_.participantId(), m.from(), id, m.digest, at, entry.seq, entry.hash));
  row.state = "accepted";
  store_.insertMessage(row);

  if (!job.answers.empty()) {  // a response closes what it answers
    AuditEntry answered{head.seq + 1,        at, "state",
                        job.answers,         "", std::string(m.from()),
                        std::string(m.to()), "", "answered by " + id,
                        job.client,          {}};
    answered.hash = chainAuditHash(head.hash, answered);
    store_.appendAudit(answered);
    store_.setState(job.answers, "answered", "");
    head = {answered.seq, answered.hash};
  }
  job.result = {Outcome::Accepted, std::move(row.receipt), entry.seq, {}};
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
    std::string at = formatRfc3339(clock_.unixSeconds());
    try {
      store_.begin();
      AuditHead head = store_.auditHead();
      for (Job* job : batch) process(*job, head, at);
      store_.commit();
    } catch (const std::exception& e) {
      store_.rollback();
      for (Job* job : batch) job->result = {Outcome::Unavailable, {}, 0, e.what()};
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_.observeCommit(seconds, batch.size());
    for (Job* job : batch) job->done.set_value();
    batch.clear();
  }
}

}  // namespace dx
