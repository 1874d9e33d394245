#include "test_support.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/File.h>
#include <Poco/TemporaryFile.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <Poco/URI.h>

#include "certificate.h"
#include "envelope.h"
#include "clock.h"

namespace dx::test {

const std::string& pkiDir() {
  static std::string dir;
  static std::once_flag once;
  std::call_once(once, [] {
    dir = std::string(DX_BINARY_DIR) + "/test-pki";
    // The script takes seconds even when everything exists; each test process would pay it.
    bool complete = true;
    for (const char* f : {"/ca.crt", "/ca.crl", "/hub.samastipur.key", "/ps.samastipur.rosera.key",
                          "/test/revoked.key", "/test/expired.key", "/test/foreign.key"})
      complete = complete && std::ifstream(dir + f).good();
    if (complete) return;
    std::string cmd = "cd '" DX_SOURCE_DIR "' && flock '" + dir + ".lock' certs/make-dev-pki.sh '" +
                      dir + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-dev-pki.sh failed: " + cmd);
  });
  return dir;
}

std::string participantsJson(const std::string& pki) {
  return R"([
  {"id": "cc.samastipur", "role": "cyber_cell", "certs": [")" +
         pki + R"(/cc.samastipur.crt", ")" + pki + R"(/test/revoked.crt", ")" + pki +
         R"(/test/expired.crt", ")" + pki + R"(/test/foreign.crt"]},
  {"id": "sp.samastipur", "role": "sp_office"},
  {"id": "dm.samastipur", "role": "dm_office"},
  {"id": "bank.sbi", "role": "bank", "ifsc_prefixes": ["SBIN"]},
  {"id": "bank.pnb", "role": "bank", "ifsc_prefixes": ["PUNB"]},
  {"id": "bank.hdfc", "role": "bank", "key_type": "p256", "ifsc_prefixes": ["HDFC"]},
  {"id": "ps.samastipur.nagar", "role": "station", "name": "Samastipur Nagar",
   "name_hi": "समस्तीपुर नगर"},
  {"id": "ps.samastipur.mufassil", "role": "station", "name": "Samastipur Mufassil",
   "name_hi": "समस्तीपुर मुफस्सिल"},
  {"id": "ps.samastipur.kalyanpur", "role": "station", "name": "Kalyanpur", "name_hi": "कल्याणपुर"},
  {"id": "ps.samastipur.dalsinghsarai", "role": "station", "name": "Dalsinghsarai",
   "name_hi": "दलसिंहसराय"},
  {"id": "ps.samastipur.rosera", "role": "station", "name": "Rosera", "name_hi": "रोसड़ा"}
 ])";
}

std::string writeConfig() {
  const std::string& pki = pkiDir();
  std::string src = DX_SOURCE_DIR;
  std::string path = Poco::TemporaryFile::tempName() + "-dxhub.json";
  Poco::TemporaryFile::registerForDeletion(path);
  std::ofstream out(path);
  out << R"({"hub": {"id": "hub.samastipur", "district": "Samastipur", "listen": "127.0.0.1:0"},
 "pki": {"dir": ")"
      << pki << R"(", "ca": ")" << pki << R"(/ca.crt", "crl": ")" << pki << R"(/ca.crl"},
 "store": {"url": "sqlite::memory:"},
 "schemas": ")"
      << src << R"(/config/schemas", "policy": ")" << src << R"(/config/policy.json",
 "participants": )"
      << participantsJson(pki) << "}";
  return path;
}

ParticipantConfig participantConfig(const std::string& id, const std::string& role,
                                    const std::string& name, const std::string& nameHi) {
  ParticipantConfig p;
  p.id = id;
  p.role = role;
  p.name = name;
  p.nameHi = nameHi;
  return p;
}

const Registry& registry() {
  static const HubConfig config = loadConfig(writeConfig());
  static const TrustStore trust(config.caPath, config.crlPath);
  static const Registry registry(config, trust);
  return registry;
}

Signer signer(const std::string& name) {
  return Signer::fromFiles(pkiDir() + "/" + name + ".key", pkiDir() + "/" + name + ".crt");
}

VerifiedMessage verified(const std::string& who, const std::string& payload) {
  Expected<VerifiedMessage> m =
      verifyJws(signer(who).sign(payload), registry(), SystemClock::instance().unixSeconds());
  if (!m) throw std::runtime_error("test message does not verify: " + m.problem().detail);
  return std::move(m.value());
}

std::string example(const std::string& type) {
  return readFile(std::string(DX_EXAMPLES_DIR) + "/" + type + ".json");
}

std::string liveExample(const std::string& type) {
  rapidjson::Document body;
  body.Parse(example(type).c_str());
  auto it = body.FindMember("respond_by");
  if (it != body.MemberEnd()) {
    std::int64_t now = SystemClock::instance().unixSeconds();
    // A notice's respond_by is a date (in India, +05:30), a request's a time.
    std::string due = type == "notice.awareness"
                          ? formatRfc3339(now + 7 * 86400 + 19800).substr(0, 10)
                          : formatRfc3339(now + 3600);
    it->value.SetString(due.c_str(), body.GetAllocator());
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  body.Accept(w);
  return buf.GetString();
}

std::string envelope(const std::string& type, const std::string& from, const std::string& to,
                     const std::string& body, const std::string& ref, const std::string& caseId) {
  return newEnvelope(type, from, to, body, ref, caseId);
}

// ---- store back ends

const std::vector<std::string>& storeBackends() {
  static const std::vector<std::string> kBackends = {"sqlite", "postgresql"};
  return kBackends;
}

std::optional<std::string> pgServerUrl() {
  const char* url = std::getenv("DX_TEST_PG_URL");
  if (!url || !*url) return std::nullopt;
  return std::string(url);
}

namespace {

// A Poco::Data session on the test server's database `db` (its URL's own one when empty).
Poco::Data::Session pgSession(const std::string& serverUrl, const std::string& db = {}) {
  static std::once_flag registered;
  std::call_once(registered, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  Poco::URI uri(serverUrl);
  std::string name = db.empty() ? uri.getPath().substr(1) : db;
  return Poco::Data::Session("PostgreSQL", "host=" + uri.getHost() +
                                               " port=" + std::to_string(uri.getPort()) +
                                               " user=" + uri.getUserInfo() + " dbname=" + name);
}

}  // namespace

TestDatabase::TestDatabase(const std::string& backend) : backend_(backend) {
  using namespace Poco::Data::Keywords;
  if (backend == "sqlite") {
    dir_ = Poco::TemporaryFile::tempName();
    Poco::File(dir_).createDirectories();
    url_ = "sqlite:" + dir_ + "/dxhub.db";
    return;
  }
  std::optional<std::string> server = pgServerUrl();
  if (backend != "postgresql" || !server)
    throw std::runtime_error("no test database for back end " + backend);
  name_ = "dxtest_" + newUuid().substr(0, 8) + newUuid().substr(0, 8);
  pgSession(*server) << "CREATE DATABASE " + name_, now;
  Poco::URI uri(*server);
  uri.setPath("/" + name_);
  url_ = uri.toString();
}

TestDatabase::~TestDatabase() {
  using namespace Poco::Data::Keywords;
  try {
    if (!dir_.empty()) Poco::File(dir_).remove(true);
    if (!name_.empty())
      pgSession(*pgServerUrl()) << "DROP DATABASE " + name_ + " WITH (FORCE)", now;
  } catch (const std::exception&) {
    // Left behind in a temporary server or folder: not worth failing a test for.
  }
}

namespace {
// Runs `sql` on the test database; its one integer answer into `*result` when given.
void runOn(const std::string& backend, const std::string& url, const std::string& name,
           const std::string& sql, Poco::Int64* result = nullptr) {
  using namespace Poco::Data::Keywords;
  auto run = [&](Poco::Data::Session session) {
    Poco::Data::Statement st(session);
    st << sql;
    if (result) st, into(*result);
    st.execute();
  };
  if (backend == "sqlite") {
    Poco::Data::SQLite::Connector::registerConnector();
    run(Poco::Data::Session(std::string("SQLite"), url.substr(7)));
  } else {
    run(pgSession(*pgServerUrl(), name));
  }
}
}  // namespace

void TestDatabase::execute(const std::string& sql) const {
  runOn(backend_, url_, name_, sql);
}

std::int64_t TestDatabase::queryInt(const std::string& sql) const {
  Poco::Int64 n = 0;
  runOn(backend_, url_, name_, sql, &n);
  return n;
}

void TestDatabase::allowConnections(bool allow) const {
  using namespace Poco::Data::Keywords;
  if (name_.empty()) throw std::runtime_error("allowConnections: not a PostgreSQL database");
  Poco::Data::Session server = pgSession(*pgServerUrl());
  server << "ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS " + (allow ? "true" : "false"), now;
  if (!allow)
    server << "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
                  name_ + "'",
        now;
}

std::map<std::string, int> nicenessByThread(pid_t pid) {
  std::map<std::string, int> out;
  std::string dir = pid == 0 ? "/proc/self/task" : "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(dir)) {
    std::string name, stat;
    std::getline(std::ifstream(task.path() / "comm"), name);
    std::getline(std::ifstream(task.path() / "stat"), stat);
    std::size_t end = stat.rfind(')');  // the name, in parentheses, may hold anything
    if (name.empty() || end == std::string::npos) continue;  // ended meanwhile
    std::istringstream fields(stat.substr(end + 2));
    std::string field;
    for (int i = 3; i <= 19; ++i) fields >> field;  // fields 3 (state) to 19 (nice)
    out[name] = std::stoi(field);
  }
  return out;
}

}  // namespace dx::test
