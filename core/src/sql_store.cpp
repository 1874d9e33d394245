// The SQL store through Poco::Data. SQLite now; the SQL is kept portable (no SQLite-only syntax
// in the tables or queries) so the PostgreSQL back end can share it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "audit.h"
#include "store.h"

namespace dx {

Store::~Store() = default;

namespace {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

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
  };
  return kMigrations;
}

const char* const kMessageColumns =
    "seq, id, type, sender, recipient, ref, case_id, created, accepted_at, digest, jws, receipt,"
    " state, attempts, last_error, connector, next_attempt_at";

MessageRecord messageAt(RecordSet& rs, std::size_t row) {
  auto s = [&](std::size_t col) { return rs.value(col, row).convert<std::string>(); };
  MessageRecord m;
  m.seq = rs.value(0, row).convert<Poco::Int64>();
  m.id = s(1);
  m.type = s(2);
  m.from = s(3);
  m.to = s(4);
  m.ref = s(5);
  m.caseId = s(6);
  m.created = s(7);
  m.acceptedAt = s(8);
  m.digest = s(9);
  m.jws = s(10);
  m.receipt = s(11);
  m.state = s(12);
  m.attempts = rs.value(13, row).convert<int>();
  m.lastError = s(14);
  m.connector = s(15);
  m.nextAttemptAt = rs.value(16, row).convert<Poco::Int64>();
  return m;
}

// Reader connections: a fixed few, lent out and waited for (reads are short), so no request
// ever fails because many arrive at once.
// Binds every column of a message row to `m` (for prepared SELECTs of kMessageColumns).
void intoMessage(Statement& st, MessageRecord& m) {
  st, into(m.seq), into(m.id), into(m.type), into(m.from), into(m.to), into(m.ref), into(m.caseId),
      into(m.created), into(m.acceptedAt), into(m.digest), into(m.jws), into(m.receipt),
      into(m.state), into(m.attempts), into(m.lastError), into(m.connector), into(m.nextAttemptAt);
}

// A reader connection with the lookup every POST makes prepared once (compiling SQL costs more
// than running it).
struct Reader {
  explicit Reader(const std::string& path)
      : session("SQLite", path), findById(session), nextPending(session) {
    session << "PRAGMA busy_timeout=10000", now;
    findById << "SELECT " << kMessageColumns << " FROM messages WHERE id = ?", use(id);
    intoMessage(findById, row);
    // The delivery engine asks this after every delivery to a recipient.
    nextPending << "SELECT seq, id, recipient, connector, next_attempt_at FROM messages"
                   " WHERE recipient = ? AND seq > ? AND connector <> ''"
                   " AND state IN ('accepted', 'delivering') ORDER BY seq LIMIT 1",
        use(recipient), use(afterSeq), into(row.seq), into(row.id), into(row.to),
        into(row.connector), into(row.nextAttemptAt);
  }
  Session session;
  std::string id, recipient;
  Poco::Int64 afterSeq = 0;
  MessageRecord row;
  Statement findById, nextPending;
};

// Reader connections: a fixed few, lent out and waited for (reads are short), so no request
// ever fails because many arrive at once.
class ReaderPool {
 public:
  ReaderPool(const std::string& path, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) idle_.push_back(std::make_unique<Reader>(path));
  }
  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Reader> r) : pool_(pool), r_(std::move(r)) {}
    ~Lease() {
      if (r_) pool_.giveBack(std::move(r_));
    }
    Session& operator*() { return r_->session; }
    Reader* operator->() { return r_.get(); }

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

template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Poco::Exception& e) {
    throw StoreError(std::string(what) + ": " + e.displayText());
  }
}

class SqliteStore : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path) {
    static std::once_flag registered;
    std::call_once(registered, [] { Poco::Data::SQLite::Connector::registerConnector(); });
    // The database holds evidence: only the hub's user may read it. SQLite gives the -wal and
    // -shm files the same mode as the database file.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0) throw StoreError("cannot create the database file " + path);
    ::fchmod(fd, 0600);
    ::close(fd);
    writer_ = std::make_unique<Session>("SQLite", path);
    *writer_ << "PRAGMA journal_mode=WAL", now;
    *writer_ << "PRAGMA synchronous=FULL", now;  // a commit is fsync'd before it returns
    *writer_ << "PRAGMA busy_timeout=10000", now;
    migrate();
    readers_ = std::make_unique<ReaderPool>(path, 8);
    prepare();
  }

  void begin() override {
    guarded("begin", [&] { *writer_ << "BEGIN IMMEDIATE", now; });
  }
  void commit() override {
    guarded("commit", [&] { *writer_ << "COMMIT", now; });
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
      Statement st(*writer_);
      st << "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", now;
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
      audit_ = entry;
      insertAudit_->execute();
    });
  }

  void insertMessage(const MessageRecord& m) override {
    guarded("message insert", [&] {
      row_ = m;
      insertMessage_->execute();
    });
  }

  void setState(const std::string& id, const std::string& state,
                const std::string& lastError) override {
    guarded("state change", [&] {
      *writer_ << "UPDATE messages SET state = ?, last_error = ? WHERE id = ?", bind(state),
          bind(lastError), bind(id), now;
    });
  }

  void setDelivery(const std::string& id, const std::string& state, int attempts,
                   const std::string& lastError, std::int64_t nextAttemptAt) override {
    guarded("delivery update", [&] {
      Poco::Int64 next = nextAttemptAt;
      // An answer that arrived while the request was being delivered keeps it "answered".
      *writer_ << "UPDATE messages SET state = CASE WHEN state = 'answered' THEN state ELSE ? END,"
                  " attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
          bind(state), bind(attempts), bind(lastError), bind(next), bind(id), now;
    });
  }

  std::optional<std::pair<std::string, std::string>> writerFindDigest(
      const std::string& id) override {
    return guarded("dedupe lookup", [&]() -> std::optional<std::pair<std::string, std::string>> {
      lookupId_ = id;
      foundDigest_.clear();
      foundReceipt_.clear();
      if (findDigest_->execute() == 0) return std::nullopt;
      return std::make_pair(foundDigest_, foundReceipt_);
    });
  }

  std::optional<MessageRecord> find(const std::string& id) override {
    return guarded("message lookup", [&]() -> std::optional<MessageRecord> {
      ReaderPool::Lease reader = readers_->get();
      reader->id = id;
      reader->row = MessageRecord{};
      if (reader->findById.execute() == 0) return std::nullopt;
      return reader->row;
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

  std::vector<MessageRecord> pendingDeliveries(int limit) override {
    return guarded("pending deliveries", [&] {
      ReaderPool::Lease lease = readers_->get();
      Session& s = *lease;
      Statement st(s);
      // Only what scheduling needs; the worker reads the whole message when it is its turn.
      st << "SELECT seq, id, recipient, connector, next_attempt_at FROM messages"
            " WHERE connector <> '' AND state IN ('accepted', 'delivering') ORDER BY seq LIMIT "
         << limit,
          now;
      RecordSet rs(st);
      std::vector<MessageRecord> out(rs.rowCount());
      for (std::size_t i = 0; i < rs.rowCount(); ++i) {
        out[i].seq = rs.value(0, i).convert<Poco::Int64>();
        out[i].id = rs.value(1, i).convert<std::string>();
        out[i].to = rs.value(2, i).convert<std::string>();
        out[i].connector = rs.value(3, i).convert<std::string>();
        out[i].nextAttemptAt = rs.value(4, i).convert<Poco::Int64>();
      }
      return out;
    });
  }

  std::optional<MessageRecord> nextPendingFor(const std::string& recipient,
                                              std::int64_t afterSeq) override {
    return guarded("next pending delivery", [&]() -> std::optional<MessageRecord> {
      ReaderPool::Lease reader = readers_->get();
      reader->recipient = recipient;
      reader->afterSeq = afterSeq;
      reader->row = MessageRecord{};
      if (reader->nextPending.execute() == 0) return std::nullopt;
      return reader->row;
    });
  }

  std::vector<std::string> replies(const std::string& id) override {
    return guarded("replies", [&] {
      ReaderPool::Lease lease = readers_->get();
      Session& s = *lease;
      std::vector<std::string> ids;
      s << "SELECT id FROM messages WHERE ref = ? ORDER BY seq", bind(id), into(ids), now;
      return ids;
    });
  }

  void forEachAudit(const std::function<bool(const AuditEntry&)>& visit) override {
    guarded("audit read", [&] {
      ReaderPool::Lease lease = readers_->get();
      Session& s = *lease;
      constexpr Poco::Int64 kPage = 2000;
      Poco::Int64 after = 0;
      for (;;) {
        Statement st(s);
        st << "SELECT seq, at, event, message_id, digest, sender, recipient, type, outcome,"
              " client, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT "
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
    });
  }

  std::int64_t messageCount() override {
    return guarded("count", [&] {
      ReaderPool::Lease lease = readers_->get();
      Session& s = *lease;
      Poco::Int64 n = 0;
      s << "SELECT COUNT(*) FROM messages", into(n), now;
      return static_cast<std::int64_t>(n);
    });
  }

 private:
  // Whole message rows matching `condition` (one text and one seq placeholder), oldest first;
  // limit < 0: all of them.
  std::vector<MessageRecord> messagesWhere(const char* what, const char* condition,
                                           const std::string& text, std::int64_t after,
                                           int limit) {
    return guarded(what, [&] {
      ReaderPool::Lease lease = readers_->get();
      Session& s = *lease;
      Statement st(s);
      Poco::Int64 cursor = after;
      st << "SELECT " << kMessageColumns << " FROM messages WHERE " << condition
         << " ORDER BY seq";
      if (limit >= 0) st << " LIMIT " << limit;
      st, bind(text), bind(cursor), now;
      RecordSet rs(st);
      std::vector<MessageRecord> out;
      out.reserve(rs.rowCount());
      for (std::size_t i = 0; i < rs.rowCount(); ++i) out.push_back(messageAt(rs, i));
      return out;
    });
  }

  void migrate() {
    Session& s = *writer_;
    s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
         " applied_at VARCHAR(64) NOT NULL)",
        now;
    int current = 0;
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
    for (const Migration& m : migrations()) {
      if (m.version <= current) continue;
      s << "BEGIN IMMEDIATE", now;
      try {
        for (const char* sql : m.statements) s << sql, now;
        s << "INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)",
            bind(m.version), now;
        s << "COMMIT", now;
      } catch (...) {
        s << "ROLLBACK", now;
        throw;
      }
    }
  }

  void prepare() {
    insertMessage_ = std::make_unique<Statement>(*writer_);
    *insertMessage_ << "INSERT INTO messages (" << kMessageColumns
                    << ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        use(row_.seq), use(row_.id), use(row_.type), use(row_.from), use(row_.to), use(row_.ref),
        use(row_.caseId), use(row_.created), use(row_.acceptedAt), use(row_.digest), use(row_.jws),
        use(row_.receipt), use(row_.state), use(row_.attempts), use(row_.lastError),
        use(row_.connector), use(row_.nextAttemptAt);
    insertAudit_ = std::make_unique<Statement>(*writer_);
    *insertAudit_ << "INSERT INTO audit (seq, at, event, message_id, digest, sender, recipient,"
                     " type, outcome, client, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        use(audit_.seq), use(audit_.at), use(audit_.event), use(audit_.messageId),
        use(audit_.digest), use(audit_.from), use(audit_.to), use(audit_.type), use(audit_.outcome),
        use(audit_.client), use(audit_.hash);
    findDigest_ = std::make_unique<Statement>(*writer_);
    *findDigest_ << "SELECT digest, receipt FROM messages WHERE id = ?", use(lookupId_),
        into(foundDigest_), into(foundReceipt_);
  }

  std::string path_;
  std::unique_ptr<Session> writer_;
  std::unique_ptr<ReaderPool> readers_;
  // Prepared statements bound to these rows: set the row, execute.
  MessageRecord row_;
  AuditEntry audit_;
  std::string lookupId_, foundDigest_, foundReceipt_;
  std::unique_ptr<Statement> insertMessage_, insertAudit_, findDigest_;
};

}  // namespace

std::unique_ptr<Store> openStore(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.rfind(kSqlite, 0) == 0) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) throw StoreError("store url " + url + " names no file");
    try {
      return std::make_unique<SqliteStore>(path);
    } catch (const Poco::Exception& e) {
      throw StoreError("cannot open store " + url + ": " + e.displayText());
    }
  }
  throw StoreError("store url " + url + " is not supported (expected sqlite:PATH)");
}

}  // namespace dx
