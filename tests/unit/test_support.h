#pragma once
// Shared by the unit tests: a development PKI made once by certs/make-dev-pki.sh, a config that
// points at it, and signing helpers.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "jws.h"
#include "registry.h"

namespace dx::test {

// The dev PKI for tests (build/test-pki), made on first use; safe when test processes run at once.
const std::string& pkiDir();

// The participants of the test configs (JSON array): the default config's offices, with
// cc.samastipur also holding the PKI's revoked, expired and foreign-CA test certificates.
std::string participantsJson(const std::string& pki);

// Writes a config for the test PKI into a fresh temp folder and returns its path. cc.samastipur
// also has the PKI's revoked, expired and foreign-CA test certificates registered, so messages
// signed with them reach the certificate checks.
std::string writeConfig();

// A participant of a config built in a test (the other fields keep their defaults).
ParticipantConfig participantConfig(const std::string& id, const std::string& role,
                                    const std::string& name = {}, const std::string& nameHi = {});

// A registry for the test PKI and config (made once).
const Registry& registry();

// A signer for a participant of the test PKI (or a file stem under it, like "test/revoked").
Signer signer(const std::string& name);

// Signs `payload` as `who` and verifies it (a message as the pipeline hands it on).
VerifiedMessage verified(const std::string& who, const std::string& payload);

// A body from ../shared/examples/<type>.json.
std::string example(const std::string& type);

// The example as a live message carries it: its respond_by (if any) a week (a notice) or an hour
// (a request) from now, so the hub does not escalate it as overdue at once.
std::string liveExample(const std::string& type);

// An envelope around `body` (JSON text) with a fresh id and the current time.
std::string envelope(const std::string& type, const std::string& from, const std::string& to,
                     const std::string& body, const std::string& ref = {},
                     const std::string& caseId = {});

// ---- the store back ends under test
// Store tests and the hub's integration tests run once per back end: "sqlite" and "postgresql".
const std::vector<std::string>& storeBackends();

// The PostgreSQL server for tests: $DX_TEST_PG_URL (postgresql://USER@HOST:PORT/DB of a server
// where the user may create databases). `make test` starts one for the run
// (scripts/with-postgres.sh) and sets it; run alone, without it, PostgreSQL tests skip and say
// why (pgSkipReason()).
std::optional<std::string> pgServerUrl();
inline const char* pgSkipReason() {
  return "DX_TEST_PG_URL is not set: `make test` starts PostgreSQL and sets it "
         "(or run the test under scripts/with-postgres.sh)";
}

// A database of one's own for a test: a fresh, empty store URL for `backend` ("sqlite": a file
// in a new temp folder; "postgresql": a new database on pgServerUrl()); removed again by the
// destructor. Needs pgServerUrl() for PostgreSQL (throws otherwise).
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  const std::string& url() const { return url_; }
  // Runs one SQL statement on it directly, behind the hub's back (to tamper, in tests).
  void execute(const std::string& sql) const;
  // The one integer a query answers (e.g. SELECT COUNT(*) …).
  std::int64_t queryInt(const std::string& sql) const;
  // PostgreSQL only: whether the database takes connections. false also ends every connection
  // to it, so to a hub the database is gone until this is called with true.
  void allowConnections(bool allow) const;

 private:
  std::string backend_, url_, dir_, name_;
};

// The niceness of each thread of process `pid` (0: this one) by its name, as the kernel has it
// (field 19 of /proc/PID/task/TID/stat). Threads that end while they are read are left out.
std::map<std::string, int> nicenessByThread(pid_t pid = 0);

}  // namespace dx::test
