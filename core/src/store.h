#pragma once
// The store: messages with their exact signed bytes, receipts and state, and the audit log.
// One narrow interface; two SQL back ends behind it with the same tables and the same SQL
// (sql_store.cpp): SQLite for one hub process, PostgreSQL for several hub processes sharing one
// database (README "Operations: a state-level deployment").
//
// Threading: the writer methods (begin … commit) are called by one thread only, the journal's
// committer; the reader methods may be called from any thread at any time.
// Errors: every method throws StoreError when the database fails (disk full, I/O error); the
// caller answers 503 store_unavailable and nothing half-written remains (the transaction is
// rolled back).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dx {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MessageRecord {
  std::int64_t seq = 0;  // acceptance order: the audit seq of its acceptance; the inbox cursor
  std::string id, type, from, to, ref, caseId, created, acceptedAt, digest, jws, receipt;
  std::string state;  // accepted, delivering, delivered, answered, dead
  int attempts = 0;
  std::string lastError;
  std::string connector;           // the connector delivering it; "" = the recipient's inbox
  std::int64_t nextAttemptAt = 0;  // unix ms of the next delivery attempt
  // The hub instance working the delivery now, and until when (unix ms); see claimDelivery.
  std::string leaseOwner;
  std::int64_t leaseUntil = 0;
};

struct AuditEntry {
  std::int64_t seq = 0;
  std::string at, event, messageId, digest, from, to, type, outcome, client;
  std::string hash;  // hex SHA-256 chaining this entry to the one before
};

struct AuditHead {
  std::int64_t seq = 0;  // 0: empty log
  std::string hash;      // hex; 64 zeros for the empty log
};

class Store {
 public:
  virtual ~Store();

  // Writer side: one transaction at a time, on the committer's thread.
  virtual void begin() = 0;
  virtual void commit() = 0;  // durable on disk (fsync) when it returns
  virtual void rollback() = 0;
  virtual AuditHead auditHead() = 0;
  virtual void appendAudit(const AuditEntry& entry) = 0;
  // Inserts the message unless its id is already stored (by this or another hub instance: the
  // unique id decides, not a lookup before); false then, and nothing is written.
  virtual bool insertMessage(const MessageRecord& message) = 0;
  virtual void setState(const std::string& id, const std::string& state,
                        const std::string& lastError) = 0;
  // A delivery attempt's outcome: state (delivering, delivered, dead), attempts so far, the last
  // error and when to try next (unix ms). Ends the delivery's lease.
  virtual void setDelivery(const std::string& id, const std::string& state, int attempts,
                           const std::string& lastError, std::int64_t nextAttemptAt) = 0;
  // Records that dead message `id`'s delivery_failed escalation is stored (see
  // deadWithoutEscalation).
  virtual void setEscalated(const std::string& id) = 0;
  // Inside the writer's transaction (sees its own uncommitted rows): digest and receipt of id.
  virtual std::optional<std::pair<std::string, std::string>> writerFindDigest(
      const std::string& id) = 0;

  // Readers.
  virtual std::optional<MessageRecord> find(const std::string& id) = 0;
  // Messages to `recipient` with seq > after, oldest first, at most `limit`.
  virtual std::vector<MessageRecord> inbox(const std::string& recipient, std::int64_t after,
                                           int limit) = 0;
  // The recipients of messages a connector still has to deliver (accepted or delivering).
  virtual std::vector<std::string> pendingRecipients() = 0;
  // Messages to `recipient` that a connector still has to deliver, oldest first, at most
  // `limit`; only seq, id, to, connector, nextAttemptAt, leaseOwner and leaseUntil are filled in.
  virtual std::vector<MessageRecord> pendingFor(const std::string& recipient, int limit) = 0;
  // The oldest message to `recipient` after `afterSeq` that a connector still has to deliver
  // (filled in as pendingFor does), if any.
  virtual std::optional<MessageRecord> nextPendingFor(const std::string& recipient,
                                                      std::int64_t afterSeq) = 0;
  // Claims the delivery of message `id` for hub instance `owner` until `leaseUntil` (unix ms):
  // true when `owner` now holds it — it is still to be delivered and nobody else holds an
  // unexpired lease (`nowMs`). Any thread; its own short transaction. On PostgreSQL the row is
  // taken with SELECT … FOR UPDATE SKIP LOCKED, so instances never wait for each other's claims
  // and one instance at a time works a delivery; a dead instance's claims pass to another when
  // they expire. SQLite serves one hub process, whose delivery engine already works each
  // recipient on one thread: there every claim succeeds and nothing is written.
  virtual bool claimDelivery(const std::string& id, const std::string& owner, std::int64_t nowMs,
                             std::int64_t leaseUntil) = 0;
  // Every message of a case (`case` of the envelope), oldest first.
  virtual std::vector<MessageRecord> byCase(const std::string& caseId) = 0;
  // Messages of one type with seq > after, oldest first, at most `limit`.
  virtual std::vector<MessageRecord> byType(const std::string& type, std::int64_t after,
                                            int limit) = 0;
  // The same, narrow: only seq, id and state are filled in (what the case tracker's pass needs
  // to follow new requests without reading their signed bytes).
  virtual std::vector<MessageRecord> statesByType(const std::string& type, std::int64_t after,
                                                  int limit) = 0;
  // Ids of the messages whose ref is `id`, oldest first.
  virtual std::vector<std::string> replies(const std::string& id) = 0;
  // Every audit entry in seq order; `visit` returns false to stop.
  virtual void forEachAudit(const std::function<bool(const AuditEntry&)>& visit) = 0;
  virtual std::int64_t messageCount() = 0;
  // Dead messages (not themselves hub.escalation) with seq > after, oldest first, at most
  // `limit`, whose delivery_failed escalation is not recorded as stored (setEscalated): the
  // delivery engine's sweep sends it (DeliveryEngine::sweepEscalations). Another escalation
  // about the message (its deadline's) does not count.
  virtual std::vector<MessageRecord> deadWithoutEscalation(std::int64_t after, int limit) = 0;
  // A trivial query on the database (for GET /healthz); throws StoreError when it cannot answer.
  virtual void ping() = 0;
};

// Opens the store named by a config URL: `sqlite:PATH`, or
// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (PostgreSQL through Poco::Data; port 5432
// by default). Applies pending migrations (several instances starting at once apply them once).
// Throws StoreError naming the URL (never its password) when it cannot.
std::unique_ptr<Store> openStore(const std::string& url);

}  // namespace dx
