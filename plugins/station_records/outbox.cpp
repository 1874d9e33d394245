#include "outbox.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include "clock.h"

namespace dx::station_records {

namespace {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

const std::vector<const char*> kSchema = {
    "CREATE TABLE IF NOT EXISTS outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " station VARCHAR(128) NOT NULL, case_no VARCHAR(64) NOT NULL, body_hash VARCHAR(64) NOT NULL,"
    " message_id VARCHAR(64) NOT NULL UNIQUE, jws TEXT NOT NULL, digest VARCHAR(64) NOT NULL,"
    " state VARCHAR(16) NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '', receipt TEXT NOT NULL DEFAULT '',"
    " receipt_check TEXT NOT NULL DEFAULT '', file TEXT NOT NULL, line INTEGER NOT NULL,"
    " queued_at VARCHAR(64) NOT NULL, updated_at VARCHAR(64) NOT NULL)",
    "CREATE INDEX IF NOT EXISTS outbox_by_case ON outbox (station, case_no, seq)",
    "CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, station, seq)",
};

const char* const kColumns =
    "seq, station, case_no, body_hash, message_id, jws, digest, state, attempts, last_error,"
    " receipt, receipt_check, file, line";

std::string nowText() {
  return formatRfc3339(SystemClock::instance().unixSeconds());
}

template <class F>
auto guarded(const std::string& path, const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Poco::Exception& e) {
    throw StateError(path + ": " + what + ": " + e.displayText());
  }
}

void rollback(Poco::Data::Session& session) {
  try {
    session << "ROLLBACK", now;
  } catch (const Poco::Exception&) {
    // the failed statement already ended the transaction
  }
}

}  // namespace

Outbox::Outbox(const std::string& path) : path_(path), session_(openSqlite(path, kSchema)) {}

Outbox::~Outbox() = default;

std::string Outbox::latestHash(const std::string& station, const std::string& caseNo) {
  std::lock_guard lock(mutex_);
  return guarded(path_, "latest version", [&] {
    Statement st(*session_);
    st << "SELECT body_hash FROM outbox WHERE station = ? AND case_no = ? AND state <> 'refused'"
          " ORDER BY seq DESC LIMIT 1",
        bind(station), bind(caseNo), now;
    RecordSet rs(st);
    return rs.rowCount() ? rs.value(0, 0).convert<std::string>() : std::string();
  });
}

void Outbox::add(const std::vector<OutboxEntry>& entries) {
  if (entries.empty()) return;
  std::lock_guard lock(mutex_);
  guarded(path_, "add", [&] {
    std::string at = nowText();
    *session_ << "BEGIN IMMEDIATE", now;
    try {
      for (const OutboxEntry& e : entries) {
        *session_ << "INSERT INTO outbox (station, case_no, body_hash, message_id, jws, digest,"
                     " state, file, line, queued_at, updated_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            bind(e.station), bind(e.caseNo), bind(e.bodyHash), bind(e.messageId), bind(e.jws),
            bind(e.digest), bind(e.file), bind(static_cast<Poco::Int64>(e.line)), bind(at),
            bind(at), now;
      }
      *session_ << "COMMIT", now;
    } catch (...) {
      rollback(*session_);
      throw;
    }
  });
}

std::vector<OutboxEntry> Outbox::select(const std::string& where, const std::string& arg) {
  std::lock_guard lock(mutex_);
  return guarded(path_, "read", [&] {
    Statement st(*session_);
    st << "SELECT " << kColumns << " FROM outbox " << where << " ORDER BY seq";
    if (!arg.empty()) st, bind(arg);
    st.execute();
    RecordSet rs(st);
    std::vector<OutboxEntry> out;
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      auto s = [&](std::size_t c) { return rs.value(c, r).convert<std::string>(); };
      OutboxEntry e;
      e.seq = rs.value(0, r).convert<Poco::Int64>();
      e.station = s(1);
      e.caseNo = s(2);
      e.bodyHash = s(3);
      e.messageId = s(4);
      e.jws = s(5);
      e.digest = s(6);
      e.state = s(7);
      e.attempts = rs.value(8, r).convert<int>();
      e.lastError = s(9);
      e.receipt = s(10);
      e.receiptCheck = s(11);
      e.file = s(12);
      e.line = static_cast<long>(rs.value(13, r).convert<Poco::Int64>());
      out.push_back(std::move(e));
    }
    return out;
  });
}

std::vector<OutboxEntry> Outbox::pending(const std::string& station) {
  return select("WHERE state = 'pending' AND station = ?", station);
}

std::vector<OutboxEntry> Outbox::all() {
  return select("", "");
}

void Outbox::markSent(const std::vector<SentReceipt>& sent) {
  if (sent.empty()) return;
  std::lock_guard lock(mutex_);
  guarded(path_, "mark sent", [&] {
    std::string at = nowText();
    *session_ << "BEGIN IMMEDIATE", now;
    try {
      for (const SentReceipt& r : sent)
        *session_ << "UPDATE outbox SET state = 'sent', attempts = attempts + 1, receipt = ?,"
                     " receipt_check = ?, last_error = '', updated_at = ? WHERE message_id = ?",
            bind(r.receipt), bind(r.receiptCheck), bind(at), bind(r.messageId), now;
      *session_ << "COMMIT", now;
    } catch (...) {
      rollback(*session_);
      throw;
    }
  });
}

void Outbox::markRefused(const std::string& messageId, const std::string& reason) {
  std::lock_guard lock(mutex_);
  guarded(path_, "mark refused", [&] {
    *session_ << "UPDATE outbox SET state = 'refused', attempts = attempts + 1, last_error = ?,"
                 " updated_at = ? WHERE message_id = ?",
        bind(reason), bind(nowText()), bind(messageId), now;
  });
}

void Outbox::noteFailure(const std::string& messageId, const std::string& reason) {
  std::lock_guard lock(mutex_);
  guarded(path_, "note failure", [&] {
    *session_ << "UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ?"
                 " WHERE message_id = ?",
        bind(reason), bind(nowText()), bind(messageId), now;
  });
}

void Outbox::resign(const std::string& oldId, const std::string& newId, const std::string& jws,
                    const std::string& digest) {
  std::lock_guard lock(mutex_);
  guarded(path_, "re-sign", [&] {
    *session_ << "UPDATE outbox SET message_id = ?, jws = ?, digest = ?, updated_at = ?"
                 " WHERE message_id = ?",
        bind(newId), bind(jws), bind(digest), bind(nowText()), bind(oldId), now;
  });
}

std::size_t Outbox::count(const std::string& state) {
  std::lock_guard lock(mutex_);
  return guarded(path_, "count", [&] {
    Poco::Int64 n = 0;
    *session_ << "SELECT COUNT(*) FROM outbox WHERE state = ?", bind(state), into(n), now;
    return static_cast<std::size_t>(n);
  });
}

}  // namespace dx::station_records
