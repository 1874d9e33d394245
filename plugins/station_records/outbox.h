#pragma once
// The station side's memory, one SQLite file (state_dir/outbox.db): every record version it
// signed, with its state — pending (signed, not yet receipted: sent on the next poll, the same
// JWS every time), sent (receipted; the receipt is kept) or refused (the hub said no; the
// errors report says why). A record is written here before it is sent, so a station whose
// line is down, or a hub that restarts, loses nothing; and "already sent" is answered here, so
// nothing is sent twice.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/Data/Session.h>

#include "sqlite_file.h"

namespace dx::station_records {

struct OutboxEntry {
  std::int64_t seq = 0;  // order of signing
  std::string station, caseNo, bodyHash;
  std::string messageId, jws, digest;  // digest: hex SHA-256 of the JWS signing input
  std::string state;                   // pending, sent, refused
  int attempts = 0;
  std::string lastError;
  std::string receipt, receiptCheck;  // the hub's receipt; "verified", or why it is not
  std::string file;                   // the export it came from, as dropped
  long line = 0;                      // where in that export
};

struct SentReceipt {
  std::string messageId, receipt, receiptCheck;
};

// Thread-safe (one connection behind a mutex). Every method throws StateError on failure.
class Outbox {
 public:
  explicit Outbox(const std::string& path);
  ~Outbox();

  // The body hash of the newest version of (station, case) that is sent or pending; empty when
  // there is none. A refused version does not count: the hub does not have it.
  std::string latestHash(const std::string& station, const std::string& caseNo);
  // Adds entries as pending, in one transaction.
  void add(const std::vector<OutboxEntry>& entries);
  // A station's pending entries, oldest first.
  std::vector<OutboxEntry> pending(const std::string& station);
  // Receipted messages, in one transaction.
  void markSent(const std::vector<SentReceipt>& sent);
  void markRefused(const std::string& messageId, const std::string& reason);
  // A failed attempt that will be tried again.
  void noteFailure(const std::string& messageId, const std::string& reason);
  // The hub found the message stale (it never stored it): the same record, signed anew.
  void resign(const std::string& oldId, const std::string& newId, const std::string& jws,
              const std::string& digest);
  // Every entry, oldest first (operators and tests).
  std::vector<OutboxEntry> all();
  std::size_t count(const std::string& state);

 private:
  std::vector<OutboxEntry> select(const std::string& where, const std::string& arg);
  std::string path_;
  std::mutex mutex_;
  std::unique_ptr<Poco::Data::Session> session_;
};

}  // namespace dx::station_records
