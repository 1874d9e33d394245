// The SQL store through Poco::Data, for SQLite and PostgreSQL. One text of every table and query
// for both: the SQL is portable (ON CONFLICT needs SQLite >= 3.24), written with `?`
// placeholders, and Backend::sql() turns those into PostgreSQL's `$1, $2, …` — the one place
// the two differ in text. What differs in behaviour is in Backend too: how a write transaction
// begins, how appends to the audit chain are serialised across hub instances, how deliveries
// are claimed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/URI.h>

#include "audit.h"
#include "sqlite_statement.h"
#include "store.h"
#include "wal_checkpointer.h"
#include "wal_write_buffer.h"

namespace dx {

Store::~Store() = default;

namespace {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

// Where the two databases differ.
struct Backend {
  bool postgres = false;
  std::string connector;   // Poco::Data connector name: "SQLite" or "PostgreSQL"
  std::string connection;  // its connection string: the file, or libpq's key=value form
  std::string url;         // for messages: the config URL without its password
  std::string password;    // masked wherever an error might quote the connection string

  // `text` with its `?` placeholders numbered `$1, $2, …` for PostgreSQL (outside quotes).
  std::string sql(const std::string& text) const {
    if (!postgres) return text;
    std::string out;
    out.reserve(text.size() + 16);
    int n = 0;
    bool quoted = false;
    for (char c : text) {
      if (c == '\'') quoted = !quoted;
      if (c == '?' && !quoted) {
        out += '$';
        out += std::to_string(++n);
      } else {
        out += c;
      }
    }
    return out;
  }
  // Starts a write transaction. SQLite: take the write lock now (no upgrade deadlocks).
  const char* beginSql() const { return postgres ? "BEGIN" : "BEGIN IMMEDIATE"; }
};

// PostgreSQL advisory locks (transaction-scoped) that serialise work across hub instances.
constexpr Poco::Int64 kMigrationLock = 0x6478687562000001;  // "dxhub" 1: migrations
constexpr Poco::Int64 kAuditLock = 0x6478687562000002;      // "dxhub" 2: the audit chain's head

// Versioned migrations, applied in order at start, each in its own transaction.
struct Migration {
  int version;
  std::vector<const char*> statements;
};
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       {"CREATE TABLE messages ("
        " seq BIGINT NOT NULL UNIQUE, id VARCHAR(64) PRIMARY KEY, type VARCHAR(64) NOT NULL,"
        " sender VARCHAR(128) NOT NULL, recipient VARCHAR(128) NOT NULL,"
        " ref VARCHAR(64) NOT NULL DEFAULT '', case_id VARCHAR(128) NOT NULL DEFAULT '',"
        " created VARCHAR(64) NOT NULL, accepted_at VARCHAR(64) NOT NULL,"
        " digest VARCHAR(64) NOT NULL, jws TEXT NOT NULL, receipt TEXT NOT NULL,"
        " state VARCHAR(16) NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX messages_by_recipient ON messages (recipient, seq)",
        "CREATE INDEX messages_by_ref ON messages (ref)",
        "CREATE TABLE audit ("
        " seq BIGINT PRIMARY KEY, at VARCHAR(64) NOT NULL, event VARCHAR(32) NOT NULL,"
        " message_id VARCHAR(128) NOT NULL, digest VARCHAR(64) NOT NULL,"
        " sender VARCHAR(128) NOT NULL, recipient VARCHAR(128) NOT NULL,"
        " type VARCHAR(64) NOT NULL, outcome TEXT NOT NULL, client VARCHAR(128) NOT NULL,"
        " hash VARCHAR(64) NOT NULL)"}},
      {2,
       {"ALTER TABLE messages ADD COLUMN connector VARCHAR(64) NOT NULL DEFAULT ''",
        "ALTER TABLE messages ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX messages_pending ON messages (connector, state, seq)"}},
      // Deliveries still to make are few among many messages: partial indexes find them
      // without scanning (the delivery scheduler asks every second).
      {3,
       {"DROP INDEX messages_pending",
        "CREATE INDEX messages_to_deliver ON messages (seq)"
        " WHERE connector <> '' AND state IN ('accepted', 'delivering')",
        "CREATE INDEX messages_to_deliver_by_recipient ON messages (recipient, seq)"
        " WHERE connector <> '' AND state IN ('accepted', 'delivering')"}},
      // Case trees and reports read by case and by type.
      {4,
       {"CREATE INDEX messages_by_case ON messages (case_id, seq)",
        "CREATE INDEX messages_by_type ON messages (type, seq)"}},
      // Several hub instances share one PostgreSQL database: the instance working a delivery
      // holds a lease on it until a time, after which another may take it over.
      {5,
       {"ALTER TABLE messages ADD COLUMN lease_owner VARCHAR(128) NOT NULL DEFAULT ''",
        "ALTER TABLE messages ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0"}},
      // Most messages answer nothing (requests, records, notices): an index of every empty
      // `ref` cost a write per message and served no query.
      {6,
       {"DROP INDEX messages_by_ref",
        "CREATE INDEX messages_by_ref ON messages (ref, seq) WHERE ref <> ''"}},
      // Dead messages are few among many: the escalation sweep finds them without scanning.
      {7, {"CREATE INDEX messages_dead ON messages (seq) WHERE state = 'dead'"}},
      // The delivery scheduler reads each recipient's queue through
      // messages_to_deliver_by_recipient; no query uses the queue in seq order any more, and the
      // index cost a write per delivery and per message to a connector.
      {8, {"DROP INDEX messages_to_deliver"}},
      // A dead message's delivery_failed escalation is recorded as stored on the message, so
      // that the sweep does not take the deadline's escalation about it for that one. Messages
      // dead before keep the rule they had: any escalation to their sender.
      {9,
       {"ALTER TABLE messages ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0",
        "UPDATE messages SET escalated = 1 WHERE state = 'dead' AND EXISTS (SELECT 1"
        " FROM messages e WHERE e.ref = messages.id AND e.ref <> ''"
        " AND e.type = 'hub.escalation' AND e.recipient = messages.sender)",
        "DROP INDEX messages_dead",
        "CREATE INDEX messages_dead ON messages (seq) WHERE state = 'dead' AND escalated = 0"}},
  };
  return kMigrations;
}

const std::string kMessageColumns =
    "seq, id, type, sender, recipient, ref, case_id, created, accepted_at, digest, jws, receipt,"
    " state, attempts, last_error, connector, next_attempt_at, lease_owner, lease_until";
// What the delivery scheduler needs of a message still to deliver.
const std::string kPendingColumns =
    "seq, id, recipient, connector, next_attempt_at, lease_owner, lease_until";
const std::string kPending = "connector <> '' AND state IN ('accepted', 'delivering')";
// What the case tracker's pass needs of a new request (Store::statesByType).
const std::string kStateColumns = "seq, id, state";

// One row of a Poco RecordSet, read as SqliteStatement::Run reads its current row.
struct RecordSetRow {
  RecordSet& rs;
  std::size_t row;
  std::string text(int column) const { return rs.value(column, row).convert<std::string>(); }
  std::int64_t int64(int column) const { return rs.value(column, row).convert<Poco::Int64>(); }
};

// The statements every message runs, in one text for Poco::Data (PostgreSQL) and for the SQLite
// statements compiled once (SqliteStatement).
const std::string kFindById = "SELECT " + kMessageColumns + " FROM messages WHERE id = ?";
// The delivery scheduler's look at each recipient's queue: the index of pending deliveries by
// recipient answers both, without reading a long queue. The recipients by a loose index scan
// (one index search per recipient; a DISTINCT reads every pending entry: 2 ms for 27,000 on
// SQLite, 0.03 ms this way), in SQL that SQLite and PostgreSQL both run.
const std::string kPendingRecipients =
    "WITH RECURSIVE r(recipient) AS ("
    " SELECT MIN(recipient) FROM messages WHERE " + kPending +
    " UNION ALL SELECT (SELECT MIN(recipient) FROM messages WHERE " + kPending +
    " AND recipient > r.recipient) FROM r WHERE r.recipient IS NOT NULL)"
    " SELECT recipient FROM r WHERE recipient IS NOT NULL";
const std::string kPendingFor = "SELECT " + kPendingColumns +
                                " FROM messages WHERE recipient = ? AND " + kPending +
                                " ORDER BY seq";
const std::string kNextPending = "SELECT " + kPendingColumns +
                                 " FROM messages WHERE recipient = ? AND seq > ? AND " + kPending +
                                 " ORDER BY seq LIMIT 1";
// A unique id, not a lookup first: another instance may insert the same id at the same time,
// and a conflict must not abort the rest of the group commit.
const std::string kInsertMessage = "INSERT INTO messages (" + kMessageColumns +
                                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                   " ?) ON CONFLICT (id) DO NOTHING";
const std::string kInsertAudit =
    "INSERT INTO audit (seq, at, event, message_id, digest, sender, recipient, type, outcome,"
    " client, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const std::string kFindDigest = "SELECT digest, receipt FROM messages WHERE id = ?";
const std::string kAuditHead = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
const std::string kSetState = "UPDATE messages SET state = ?, last_error = ? WHERE id = ?";
// An answer that arrived while the request was being delivered keeps it "answered".
const std::string kSetDelivery =
    "UPDATE messages SET state = CASE WHEN state = 'answered' THEN state ELSE ? END,"
    " attempts = ?, last_error = ?, next_attempt_at = ?, lease_owner = '', lease_until = 0"
    " WHERE id = ?";

const std::string kSetEscalated = "UPDATE messages SET escalated = 1 WHERE id = ?";

// A message row (kMessageColumns) of a result: a SqliteStatement::Run or a RecordSetRow.
template <class Row>
MessageRecord messageAt(const Row& r) {
  MessageRecord m;
  m.seq = r.int64(0);
  m.id = r.text(1);
  m.type = r.text(2);
  m.from = r.text(3);
  m.to = r.text(4);
  m.ref = r.text(5);
  m.caseId = r.text(6);
  m.created = r.text(7);
  m.acceptedAt = r.text(8);
  m.digest = r.text(9);
  m.jws = r.text(10);
  m.receipt = r.text(11);
  m.state = r.text(12);
  m.attempts = static_cast<int>(r.int64(13));
  m.lastError = r.text(14);
  m.connector = r.text(15);
  m.nextAttemptAt = r.int64(16);
  m.leaseOwner = r.text(17);
  m.leaseUntil = r.int64(18);
  return m;
}

// What the delivery scheduler needs of a message (kPendingColumns), of either kind of row.
template <class Row>
MessageRecord pendingAt(const Row& r) {
  MessageRecord m;
  m.seq = r.int64(0);
  m.id = r.text(1);
  m.to = r.text(2);
  m.connector = r.text(3);
  m.nextAttemptAt = r.int64(4);
  m.leaseOwner = r.text(5);
  m.leaseUntil = r.int64(6);
  return m;
}

// What the case tracker's pass needs of a message (kStateColumns), of either kind of row.
template <class Row>
MessageRecord stateAt(const Row& r) {
  MessageRecord m;
  m.seq = r.int64(0);
  m.id = r.text(1);
  m.state = r.text(2);
  return m;
}

// Binds every column of a message row to `m` (for prepared SELECTs of kMessageColumns).
void intoMessage(Statement& st, MessageRecord& m) {
  st, into(m.seq), into(m.id), into(m.type), into(m.from), into(m.to), into(m.ref), into(m.caseId),
      into(m.created), into(m.acceptedAt), into(m.digest), into(m.jws), into(m.receipt),
      into(m.state), into(m.attempts), into(m.lastError), into(m.connector), into(m.nextAttemptAt),
      into(m.leaseOwner), into(m.leaseUntil);
}

// Binds the columns of kPendingColumns to `m`.
void intoPending(Statement& st, MessageRecord& m) {
  st, into(m.seq), into(m.id), into(m.to), into(m.connector), into(m.nextAttemptAt),
      into(m.leaseOwner), into(m.leaseUntil);
}

// A reader connection with the lookups every POST and every delivery make compiled once
// (compiling SQL costs more than running it): on SQLite as SqliteStatements, on PostgreSQL as
// Poco statements.
struct Reader {
  explicit Reader(const Backend& b)
      : session(b.connector, b.connection),
        findById(session),
        nextPending(session),
        claim(session) {
    if (!b.postgres) {
      session << "PRAGMA busy_timeout=10000", now;
      sqlite = Poco::Data::SQLite::Utility::dbHandle(session);
      return;
    }
    // A reader's only writes are delivery claims: a lease lost in a crash is simply gone, so
    // they need not wait for an fsync.
    session << "SET synchronous_commit TO off", now;
    findById << b.sql(kFindById), use(id);
    intoMessage(findById, row);
    // The delivery engine asks this after every delivery to a recipient.
    nextPending << b.sql(kNextPending), use(recipient), use(afterSeq);
    intoPending(nextPending, row);
    // The row is locked for this statement; SKIP LOCKED: if another instance is claiming or
    // settling it right now, it is theirs, and nobody waits.
    claim << b.sql(
        "UPDATE messages SET lease_owner = ?, lease_until = ? WHERE id = ("
        "SELECT id FROM messages WHERE id = ? AND " +
        kPending + " AND (lease_until <= ? OR lease_owner = ?) FOR UPDATE SKIP LOCKED)"),
        use(owner), use(leaseUntil), use(id), use(nowMs), use(owner);
  }
  Session session;
  std::string id, recipient, owner;
  Poco::Int64 afterSeq = 0, nowMs = 0, leaseUntil = 0;
  MessageRecord row;
  Statement findById, nextPending, claim;

  // SQLite: the connection, and its statements compiled on first use, by their text.
  sqlite3* sqlite = nullptr;
  SqliteStatement& compiled(const std::string& sql) {
    std::unique_ptr<SqliteStatement>& st = statements[sql];
    if (!st) st = std::make_unique<SqliteStatement>(sqlite, sql);
    return *st;
  }
  // Declared after `session`, so finalized before it closes.
  std::map<std::string, std::unique_ptr<SqliteStatement>> statements;
};

// Reader connections: a fixed few, lent out and waited for (reads are short), so no request
// ever fails because many arrive at once.
class ReaderPool {
 public:
  ReaderPool(const Backend& backend, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) idle_.push_back(std::make_unique<Reader>(backend));
  }
  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Reader> r) : pool_(pool), r_(std::move(r)) {}
    ~Lease() {
      if (r_) pool_.giveBack(std::move(r_));
    }
    Session& operator*() { return r_->session; }
    Reader* operator->() { return r_.get(); }
    // A new connection in place of this one (whose server went away).
    void replace(const Backend& backend) { r_ = std::make_unique<Reader>(backend); }

   private:
    ReaderPool& pool_;
    std::unique_ptr<Reader> r_;
  };
  Lease get() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty(); });
    std::unique_ptr<Reader> r = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(r));
  }

 private:
  void giveBack(std::unique_ptr<Reader> r) {
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(r));
    }
    available_.notify_one();
  }
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Reader>> idle_;
};

// `text` with every occurrence of `secret` masked (Poco's errors may quote the connection).
std::string masked(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "***");
  return text;
}

class SqlStore : public Store {
 public:
  explicit SqlStore(Backend backend) : b_(std::move(backend)) {
    static std::once_flag registered;
    std::call_once(registered, [] {
      installWalWriteBuffer();  // before SQLite's first connection
      Poco::Data::SQLite::Connector::registerConnector();
      Poco::Data::PostgreSQL::Connector::registerConnector();
    });
    if (!b_.postgres) {
      // The database holds evidence: only the hub's user may read it. SQLite gives the -wal
      // and -shm files the same mode as the database file.
      int fd = ::open(b_.connection.c_str(), O_RDWR | O_CREAT, 0600);
      if (fd < 0) throw StoreError("cannot create the database file " + b_.connection);
      ::fchmod(fd, 0600);
      ::close(fd);
    }
    openWriter();
    migrate();
    readers_ = std::make_unique<ReaderPool>(b_, 8);
    prepare();
  }

  void begin() override {
    guarded("begin", [&] {
      if (sqlite_) {
        sqlite_->checkpointer.beforeWrite();
        return (void)sqlite_->begin.run().execute();
      }
      try {
        *writer_ << b_.beginSql(), now;
      } catch (const Poco::Exception&) {
        if (!b_.postgres || writer_->isConnected()) throw;
        // The server dropped the connection (restart, failover, a terminated backend): a new
        // one, and this transaction on it. What was lost was rolled back, or committed and
        // then found again by the dedupe when the client retries.
        openWriter();
        prepare();
        *writer_ << b_.beginSql(), now;
      }
    });
  }
  void commit() override {
    guarded("commit", [&] {
      if (sqlite_) return (void)sqlite_->commit.run().execute();
      *writer_ << "COMMIT", now;
    });
  }
  void rollback() override {
    try {
      *writer_ << "ROLLBACK", now;
    } catch (const Poco::Exception&) {
      // Nothing to roll back (the failed statement already ended the transaction).
    }
  }

  AuditHead auditHead() override {
    return guarded("audit head", [&] {
      AuditHead head{0, kEmptyAuditHash};
      if (sqlite_) {
        SqliteStatement::Run r = sqlite_->auditHead.run();
        if (r.step()) head = {r.int64(0), r.text(1)};
        return head;
      }
      // Several instances append to one chain: the first to lock the head holds it until its
      // transaction ends, and reads the head the one before it committed. (SQLite's write lock,
      // taken by BEGIN IMMEDIATE, already is this lock.)
      if (b_.postgres) *writer_ << "SELECT pg_advisory_xact_lock(" << kAuditLock << ")", now;
      Statement st(*writer_);
      st << kAuditHead, now;
      RecordSet rs(st);
      if (rs.rowCount() > 0) {
        head.seq = rs.value(0, 0).convert<Poco::Int64>();
        head.hash = rs.value(1, 0).convert<std::string>();
      }
      return head;
    });
  }

  void appendAudit(const AuditEntry& entry) override {
    guarded("audit append", [&] {
      if (sqlite_) {
        const AuditEntry& e = entry;
        sqlite_->insertAudit.run()
            .bindAll(e.seq, e.at, e.event, e.messageId, e.digest, e.from, e.to, e.type, e.outcome,
                     e.client, e.hash)
            .execute();
        return;
      }
      audit_ = entry;
      insertAudit_->execute();
    });
  }

  bool insertMessage(const MessageRecord& m) override {
    return guarded("message insert", [&] {
      if (sqlite_)
        return sqlite_->insertMessage.run()
                   .bindAll(m.seq, m.id, m.type, m.from, m.to, m.ref, m.caseId, m.created,
                            m.acceptedAt, m.digest, m.jws, m.receipt, m.state, m.attempts,
                            m.lastError, m.connector, m.nextAttemptAt, m.leaseOwner, m.leaseUntil)
                   .execute() > 0;
      row_ = m;
      return insertMessage_->execute() > 0;
    });
  }

  void setState(const std::string& id, const std::string& state,
                const std::string& lastError) override {
    guarded("state change", [&] {
      if (sqlite_) return (void)sqlite_->setState.run().bindAll(state, lastError, id).execute();
      *writer_ << b_.sql(kSetState), bind(state), bind(lastError), bind(id), now;
    });
  }

  void setDelivery(const std::string& id, const std::string& state, int attempts,
                   const std::string& lastError, std::int64_t nextAttemptAt) override {
    guarded("delivery update", [&] {
      if (sqlite_)
        return (void)sqlite_->setDelivery.run()
            .bindAll(state, attempts, lastError, nextAttemptAt, id)
            .execute();
      Poco::Int64 next = nextAttemptAt;
      *writer_ << b_.sql(kSetDelivery), bind(state), bind(attempts), bind(lastError), bind(next),
          bind(id), now;
    });
  }

  void setEscalated(const std::string& id) override {
    guarded("escalation record", [&] {
      if (sqlite_) return (void)sqlite_->setEscalated.run().bindAll(id).execute();
      *writer_ << b_.sql(kSetEscalated), bind(id), now;
    });
  }

  std::optional<std::pair<std::string, std::string>> writerFindDigest(
      const std::string& id) override {
    return guarded("dedupe lookup", [&]() -> std::optional<std::pair<std::string, std::string>> {
      if (sqlite_) {
        SqliteStatement::Run r = sqlite_->findDigest.run();
        if (!r.bindAll(id).step()) return std::nullopt;
        return std::make_pair(r.text(0), r.text(1));
      }
      lookupId_ = id;
      foundDigest_.clear();
      foundReceipt_.clear();
      if (findDigest_->execute() == 0) return std::nullopt;
      return std::make_pair(foundDigest_, foundReceipt_);
    });
  }

  std::optional<MessageRecord> find(const std::string& id) override {
    return read("message lookup", [&](ReaderPool::Lease& reader) -> std::optional<MessageRecord> {
      if (reader->sqlite) {
        SqliteStatement::Run r = reader->compiled(kFindById).run();
        if (!r.bindAll(id).step()) return std::nullopt;
        return messageAt(r);
      }
      reader->id = id;
      reader->row = MessageRecord{};
      if (reader->findById.execute() == 0) return std::nullopt;
      return reader->row;
    });
  }

  bool claimDelivery(const std::string& id, const std::string& owner, std::int64_t nowMs,
                     std::int64_t leaseUntil) override {
    if (!b_.postgres) return true;  // one process: see store.h
    return read("delivery claim", [&](ReaderPool::Lease& reader) {
      reader->id = id;
      reader->owner = owner;
      reader->nowMs = nowMs;
      reader->leaseUntil = leaseUntil;
      return reader->claim.execute() > 0;
    });
  }

  std::vector<MessageRecord> inbox(const std::string& recipient, std::int64_t after,
                                   int limit) override {
    return messagesWhere("inbox", "recipient = ? AND seq > ?", recipient, after, limit);
  }

  std::vector<MessageRecord> byCase(const std::string& caseId) override {
    return messagesWhere("case lookup", "case_id = ? AND seq > ?", caseId, 0, -1);
  }

  std::vector<MessageRecord> byType(const std::string& type, std::int64_t after,
                                    int limit) override {
    return messagesWhere("type lookup", "type = ? AND seq > ?", type, after, limit);
  }

  std::vector<MessageRecord> statesByType(const std::string& type, std::int64_t after,
                                          int limit) override {
    return rowsWhere("type lookup", kStateColumns, "type = ? AND seq > ?", type, after, limit,
                     [](const auto& row) { return stateAt(row); });
  }

  std::vector<std::string> pendingRecipients() override {
    return read("pending recipients", [&](ReaderPool::Lease& lease) {
      std::vector<std::string> out;
      if (lease->sqlite) {
        SqliteStatement::Run r = lease->compiled(kPendingRecipients).run();
        while (r.step()) out.push_back(r.text(0));
        return out;
      }
      Session& s = *lease;
      s << kPendingRecipients, into(out), now;
      return out;
    });
  }

  std::vector<MessageRecord> pendingFor(const std::string& recipient, int limit) override {
    return read("pending deliveries", [&](ReaderPool::Lease& lease) {
      std::vector<MessageRecord> out;
      if (lease->sqlite) {
        SqliteStatement::Run r = lease->compiled(kPendingFor + " LIMIT ?").run();
        r.bindAll(recipient, std::int64_t{limit});
        while (r.step()) out.push_back(pendingAt(r));
        return out;
      }
      Session& s = *lease;
      Statement st(s);
      std::string to = recipient;
      st << b_.sql(kPendingFor) << " LIMIT " << limit, bind(to), now;
      RecordSet rs(st);
      out.reserve(rs.rowCount());
      for (std::size_t i = 0; i < rs.rowCount(); ++i) out.push_back(pendingAt(RecordSetRow{rs, i}));
      return out;
    });
  }

  std::optional<MessageRecord> nextPendingFor(const std::string& recipient,
                                              std::int64_t afterSeq) override {
    return read("next pending delivery",
                [&](ReaderPool::Lease& reader) -> std::optional<MessageRecord> {
                  if (reader->sqlite) {
                    SqliteStatement::Run r = reader->compiled(kNextPending).run();
                    if (!r.bindAll(recipient, afterSeq).step()) return std::nullopt;
                    return pendingAt(r);
                  }
                  reader->recipient = recipient;
                  reader->afterSeq = afterSeq;
                  reader->row = MessageRecord{};
                  if (reader->nextPending.execute() == 0) return std::nullopt;
                  return reader->row;
                });
  }

  std::vector<std::string> replies(const std::string& id) override {
    return read("replies", [&](ReaderPool::Lease& lease) {
      Session& s = *lease;
      std::vector<std::string> ids;
      s << b_.sql("SELECT id FROM messages WHERE ref = ? AND ref <> '' ORDER BY seq"), bind(id),
          into(ids), now;
      return ids;
    });
  }

  void forEachAudit(const std::function<bool(const AuditEntry&)>& visit) override {
    read(
        "audit read",
        [&](ReaderPool::Lease& lease) {
          Session& s = *lease;
          constexpr Poco::Int64 kPage = 2000;
          Poco::Int64 after = 0;
          for (;;) {
            Statement st(s);
            st << b_.sql(
                      "SELECT seq, at, event, message_id, digest, sender, recipient, type,"
                      " outcome, client, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ")
               << kPage,
                bind(after), now;
            RecordSet rs(st);
            for (std::size_t i = 0; i < rs.rowCount(); ++i) {
              auto v = [&](std::size_t col) { return rs.value(col, i).convert<std::string>(); };
              AuditEntry e{rs.value(0, i).convert<Poco::Int64>(),
                           v(1),
                           v(2),
                           v(3),
                           v(4),
                           v(5),
                           v(6),
                           v(7),
                           v(8),
                           v(9),
                           v(10)};
              after = e.seq;
              if (!visit(e)) return;
            }
            if (rs.rowCount() < static_cast<std::size_t>(kPage)) return;
          }
        },
        false);  // `visit` has seen what was read: a lost connection is an error, not a retry
  }

  std::int64_t messageCount() override {
    return read("count", [&](ReaderPool::Lease& lease) {
      Session& s = *lease;
      Poco::Int64 n = 0;
      s << "SELECT COUNT(*) FROM messages", into(n), now;
      return static_cast<std::int64_t>(n);
    });
  }

  std::vector<MessageRecord> deadWithoutEscalation(std::int64_t after, int limit) override {
    // messages_dead holds exactly these (and dead escalations, left out here).
    return messagesWhere("dead messages without escalation",
                         "state = 'dead' AND escalated = 0 AND type <> ? AND seq > ?",
                         "hub.escalation", after, limit);
  }

  void ping() override {
    read("health check", [&](ReaderPool::Lease& lease) {
      Session& s = *lease;
      int version = 0;  // a table, not `SELECT 1`: SQLite answers that without the file
      s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(version), now;
    });
  }

 private:
  // Whole message rows matching `condition` (one text and one seq placeholder), oldest first;
  // limit < 0: all of them.
  std::vector<MessageRecord> messagesWhere(const char* what, const char* condition,
                                           const std::string& text, std::int64_t after, int limit) {
    return rowsWhere(what, kMessageColumns, condition, text, after, limit,
                     [](const auto& row) { return messageAt(row); });
  }

  // The same with only `columns`, each row read by `at` (messageAt, stateAt, …).
  template <class At>
  std::vector<MessageRecord> rowsWhere(const char* what, const std::string& columns,
                                       const char* condition, const std::string& text,
                                       std::int64_t after, int limit, At at) {
    return read(what, [&](ReaderPool::Lease& lease) {
      std::vector<MessageRecord> out;
      if (lease->sqlite) {  // the limit is bound too (-1: none), so one text serves every call
        SqliteStatement::Run r =
            lease
                ->compiled("SELECT " + columns + " FROM messages WHERE " + condition +
                           " ORDER BY seq LIMIT ?")
                .run();
        r.bindAll(text, after, std::int64_t{limit});
        while (r.step()) out.push_back(at(r));
        return out;
      }
      Session& s = *lease;
      Statement st(s);
      Poco::Int64 cursor = after;
      st << b_.sql("SELECT " + columns + " FROM messages WHERE " + condition + " ORDER BY seq");
      if (limit >= 0) st << " LIMIT " << limit;
      st, bind(text), bind(cursor), now;
      RecordSet rs(st);
      out.reserve(rs.rowCount());
      for (std::size_t i = 0; i < rs.rowCount(); ++i) out.push_back(at(RecordSetRow{rs, i}));
      return out;
    });
  }

  // All pending migrations in one transaction. On PostgreSQL several instances may start at
  // once: a lock makes the second wait and then find nothing left to do.
  void migrate() {
    Session& s = *writer_;
    s << b_.beginSql(), now;
    try {
      if (b_.postgres) s << "SELECT pg_advisory_xact_lock(" << kMigrationLock << ")", now;
      s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
           " applied_at VARCHAR(64) NOT NULL)",
          now;
      int current = 0;
      s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
      for (const Migration& m : migrations()) {
        if (m.version <= current) continue;
        for (const char* sql : m.statements) s << sql, now;
        s << b_.sql(
            "INSERT INTO schema_migrations (version, applied_at)"
            " VALUES (?, CURRENT_TIMESTAMP)"),
            bind(m.version), now;
      }
      s << "COMMIT", now;
    } catch (...) {
      s << "ROLLBACK", now;
      throw;
    }
  }

  void openWriter() {
    sqlite_.reset();  // statements of the old session go first
    insertMessage_.reset();
    insertAudit_.reset();
    findDigest_.reset();
    writer_ = std::make_unique<Session>(b_.connector, b_.connection);
    if (b_.postgres) {
      // A commit returns once its WAL record is flushed to disk (the default, stated so that a
      // server-wide setting cannot weaken the receipt's promise for the hub's writes).
      *writer_ << "SET synchronous_commit TO on", now;
      *writer_ << "SET client_min_messages TO warning", now;  // not "already exists, skipping"
    } else {
      *writer_ << "PRAGMA journal_mode=WAL", now;
      *writer_ << "PRAGMA synchronous=FULL", now;  // a commit is fsync'd before it returns
      *writer_ << "PRAGMA busy_timeout=10000", now;
    }
  }

  // Runs `f`; a database error becomes a StoreError saying what failed (never the password).
  template <class F>
  auto guarded(const char* what, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const Poco::Exception& e) {
      throw StoreError(masked(std::string(what) + ": " + e.displayText(), b_.password));
    }
  }

  // Runs `f(lease)` on a pooled reader connection. On PostgreSQL a connection the server has
  // dropped is replaced and, when `retry` (the read has no effect yet), `f` runs once more.
  template <class F>
  auto read(const char* what, F&& f, bool retry = true)
      -> decltype(f(std::declval<ReaderPool::Lease&>())) {
    return guarded(what, [&] {
      ReaderPool::Lease lease = readers_->get();
      try {
        return f(lease);
      } catch (const Poco::Exception&) {
        if (!b_.postgres || (*lease).isConnected()) throw;
        lease.replace(b_);
        if (!retry) throw;
        return f(lease);
      }
    });
  }

  void prepare() {
    if (!b_.postgres) {
      sqlite_ = std::make_unique<SqliteWriter>(Poco::Data::SQLite::Utility::dbHandle(*writer_),
                                               b_.connection);
      return;
    }
    insertMessage_ = std::make_unique<Statement>(*writer_);
    *insertMessage_ << b_.sql(kInsertMessage), use(row_.seq), use(row_.id), use(row_.type),
        use(row_.from), use(row_.to), use(row_.ref), use(row_.caseId), use(row_.created),
        use(row_.acceptedAt), use(row_.digest), use(row_.jws), use(row_.receipt), use(row_.state),
        use(row_.attempts), use(row_.lastError), use(row_.connector), use(row_.nextAttemptAt),
        use(row_.leaseOwner), use(row_.leaseUntil);
    insertAudit_ = std::make_unique<Statement>(*writer_);
    *insertAudit_ << b_.sql(kInsertAudit), use(audit_.seq), use(audit_.at), use(audit_.event),
        use(audit_.messageId), use(audit_.digest), use(audit_.from), use(audit_.to),
        use(audit_.type), use(audit_.outcome), use(audit_.client), use(audit_.hash);
    findDigest_ = std::make_unique<Statement>(*writer_);
    *findDigest_ << b_.sql(kFindDigest), use(lookupId_), into(foundDigest_), into(foundReceipt_);
  }

  // The writer's statements on SQLite, compiled once, and its WAL checkpoints.
  struct SqliteWriter {
    SqliteWriter(sqlite3* db, const std::string& file)
        : checkpointer(db, file),
          begin(db, "BEGIN IMMEDIATE"),
          commit(db, "COMMIT"),
          auditHead(db, kAuditHead),
          insertMessage(db, kInsertMessage),
          insertAudit(db, kInsertAudit),
          findDigest(db, kFindDigest),
          setState(db, kSetState),
          setDelivery(db, kSetDelivery),
          setEscalated(db, kSetEscalated) {}
    WalCheckpointer checkpointer;
    SqliteStatement begin, commit, auditHead, insertMessage, insertAudit, findDigest, setState,
        setDelivery, setEscalated;
  };

  Backend b_;
  std::unique_ptr<Session> writer_;
  std::unique_ptr<ReaderPool> readers_;
  // Prepared statements bound to these rows: set the row, execute.
  MessageRecord row_;
  AuditEntry audit_;
  std::string lookupId_, foundDigest_, foundReceipt_;
  std::unique_ptr<Statement> insertMessage_, insertAudit_, findDigest_;  // PostgreSQL
  std::unique_ptr<SqliteWriter> sqlite_;  // SQLite; finalized before `writer_` closes
};

}  // namespace

namespace {

// libpq's key=value form of one value: quoted, with \ and ' escaped.
std::string conninfoValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?KEY=VALUE&…]`; the query's keys go to
// libpq as they are (e.g. sslmode=verify-full, sslrootcert=FILE, connect_timeout=5).
Backend postgresBackend(const std::string& url) {
  Backend b;
  b.postgres = true;
  b.connector = "PostgreSQL";
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw StoreError("store url is not a valid postgresql:// URL: " + e.message());
  }
  std::string user = uri.getUserInfo(), password;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    password = user.substr(colon + 1);
    user.resize(colon);
  }
  std::string db = uri.getPath();
  if (!db.empty() && db[0] == '/') db.erase(0, 1);
  Poco::URI shown(uri);
  shown.setUserInfo(password.empty() ? user : user + ":***");
  b.url = shown.toString();
  if (uri.getHost().empty() || db.empty() || db.find('/') != std::string::npos)
    throw StoreError("store url " + b.url +
                     " must name a host and a database: postgresql://USER@HOST:PORT/DATABASE");
  b.connection = "host=" + conninfoValue(uri.getHost()) +
                 " port=" + std::to_string(uri.getPort() ? uri.getPort() : 5432) +
                 " dbname=" + conninfoValue(db);
  if (!user.empty()) b.connection += " user=" + conninfoValue(user);
  if (!password.empty()) b.connection += " password=" + conninfoValue(password);
  b.password = password;
  for (const auto& [key, value] : uri.getQueryParameters()) {
    bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!plain) throw StoreError("store url " + b.url + ": bad parameter name '" + key + "'");
    b.connection += " " + key + "=" + conninfoValue(value);
  }
  return b;
}

}  // namespace

std::unique_ptr<Store> openStore(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  Backend b;
  if (url.rfind(kSqlite, 0) == 0) {
    b.connector = "SQLite";
    b.connection = url.substr(kSqlite.size());
    b.url = url;
    if (b.connection.empty()) throw StoreError("store url " + url + " names no file");
  } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    b = postgresBackend(url);
  } else {
    throw StoreError("store url " + url +
                     " is not supported (expected sqlite:PATH or postgresql://USER@HOST:PORT/DB)");
  }
  const std::string shown = b.url, password = b.password;
  try {
    return std::make_unique<SqlStore>(std::move(b));
  } catch (const Poco::Exception& e) {
    throw StoreError(masked("cannot open store " + shown + ": " + e.displayText(), password));
  }
}

}  // namespace dx
