// dx-sim-dm, the simulated DM office, against the real `dxhub serve` (SQLite in a temp folder,
// mutual TLS on loopback): it pulls a notice from its inbox and answers it with signed acks.
// The end-to-end test runs on SQLite and on PostgreSQL (the server `make test` starts).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/URI.h>

#include "../../smtp/smtp_sink.h"
#include "../../smtp/test_process.h"
#include "dm_test_support.h"
#include "dx/https_client.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;

const std::string kHubProgram = std::string(DX_BINARY_DIR) + "/dxhub";
const std::string kSimProgram = std::string(DX_BINARY_DIR) + "/dx-sim-dm";

std::string q(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s);
  return buf.GetString();
}

// A fresh database on the PostgreSQL server of `make test` ($DX_TEST_PG_URL), dropped again by
// the destructor.
class PgDatabase {
 public:
  PgDatabase() : name_("dxtest_dm_" + newUuid().substr(0, 8)) { run("CREATE DATABASE " + name_); }
  ~PgDatabase() {
    try {
      run("DROP DATABASE " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
      // Left in a temporary server: not worth failing a test for.
    }
  }
  static const char* server() { return std::getenv("DX_TEST_PG_URL"); }
  std::string url() const {
    Poco::URI uri(server());
    uri.setPath("/" + name_);
    return uri.toString();
  }

 private:
  void run(const std::string& sql) const {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    Poco::URI uri(server());
    Poco::Data::Session session(
        "PostgreSQL", "host=" + uri.getHost() + " port=" + std::to_string(uri.getPort()) +
                          " user=" + uri.getUserInfo() + " dbname=" + uri.getPath().substr(1));
    session << sql, Poco::Data::Keywords::now;
  }
  std::string name_;
};

// `dxhub serve` on a free port with its own config and database (`storeUrl`; "": SQLite in its
// folder); stopped by the destructor.
class Hub {
 public:
  explicit Hub(const std::string& pluginsJson = "[]", const std::string& storeUrl = {}) {
    dir_ = makeTempFolder("dx-dm-hub");
    port_ = freeLoopbackPort();
    storeUrl_ = storeUrl.empty() ? "sqlite:" + dir_ + "/dxhub.db" : storeUrl;
    writeConfig(pluginsJson);
    if (::access(kHubProgram.c_str(), X_OK) != 0)
      throw std::runtime_error(kHubProgram + " is missing: build the dxhub target first");
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kHubProgram, "serve", "--config", dir_ + "/dxhub.json", "--listen",
                                 "127.0.0.1:" + std::to_string(port_)},
        dir_ + "/dxhub.log", std::map<std::string, std::string>{}, DX_SOURCE_DIR);
    HttpsClient probe(url(), tlsOf("sp.samastipur"), 1000);
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process_->running())
        throw std::runtime_error("dxhub serve exited early. Log:\n" + process_->log());
      try {
        if (probe.get("/healthz").status == 200) return;
      } catch (const TransportError&) {
      }
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("dxhub serve did not become healthy. Log:\n" + process_->log());
  }
  ~Hub() {
    process_.reset();
    std::error_code ignored;
    if (!std::getenv("DX_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ignored);
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string log() const { return process_->log(); }
  static TlsIdentity tlsOf(const std::string& id) {
    const std::string& pki = pkiDir();
    return {pki + "/" + id + ".crt", pki + "/" + id + ".key", pki + "/ca.crt", pki + "/ca.crl"};
  }

 private:
  void writeConfig(const std::string& pluginsJson) {
    const std::string& pki = pkiDir();
    const std::string src = DX_SOURCE_DIR;
    std::ofstream out(dir_ + "/dxhub.json");
    out << R"({"hub": {"id": "hub.samastipur", "district": "Samastipur", "listen": )"
        << q("127.0.0.1:" + std::to_string(port_)) << R"(},
 "pki": {"dir": )"
        << q(pki) << R"(, "ca": )" << q(pki + "/ca.crt") << R"(, "crl": )" << q(pki + "/ca.crl")
        << R"(},
 "store": {"url": )"
        << q(storeUrl_) << R"(},
 "schemas": )"
        << q(src + "/config/schemas") << R"(, "policy": )" << q(src + "/config/policy.json") << R"(,
 "participants": [
  {"id": "cc.samastipur", "role": "cyber_cell"},
  {"id": "sp.samastipur", "role": "sp_office"},
  {"id": "dm.samastipur", "role": "dm_office"},
  {"id": "bank.sbi", "role": "bank", "ifsc_prefixes": ["SBIN"]},
  {"id": "ps.samastipur.rosera", "role": "station"}
 ],
 "plugins": )"
        << pluginsJson << "}\n";
  }

  std::string dir_, storeUrl_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

rapidjson::Document json(const HttpResponse& r) {
  rapidjson::Document d;
  if (parseStrict(r.body, d)) throw std::runtime_error("not JSON: " + r.body);
  return d;
}

// Posts a notice.awareness from the SP office to the DM office; its id.
std::string postNotice(HttpsClient& sp) {
  std::string id = newUuid();
  std::string jws = signerFor("sp.samastipur")
                        .sign(envelopeJson(id, "notice.awareness", "sp.samastipur", "dm.samastipur",
                                           exampleNoticeBody()));
  HttpResponse r = sp.post("/v1/messages", "application/jose+json", jws);
  if (r.status != 202) throw std::runtime_error("notice refused: " + r.body);
  return id;
}

std::vector<std::string> replies(HttpsClient& sp, const std::string& id, std::string* state) {
  rapidjson::Document d = json(sp.get("/v1/messages/" + id));
  if (state) *state = d["state"].GetString();
  std::vector<std::string> out;
  for (auto& r : d["replies"].GetArray()) out.emplace_back(r.GetString());
  return out;
}

// The SP office's inbox: envelopes of the notice.ack messages that answer `noticeId`, each
// checked against the DM office's certificate.
std::vector<rapidjson::Document> acksFor(HttpsClient& sp, const std::string& noticeId) {
  rapidjson::Document inbox = json(sp.get("/v1/inbox?after=0&limit=1000"));
  Certificate dm = Certificate::fromPemFile(pkiDir() + "/dm.samastipur.crt");
  std::vector<rapidjson::Document> out;
  for (auto& m : inbox["messages"].GetArray()) {
    Expected<JwsParts> parts = splitJws(m["jws"].GetString(), {});
    if (!parts) throw std::runtime_error("inbox entry is not a JWS");
    rapidjson::Document env;
    parseStrict(parts->payload, env);
    if (std::string(env["type"].GetString()) != "notice.ack" ||
        std::string(env["ref"].GetString()) != noticeId)
      continue;
    if (!verifyBytes(JwsAlg::Ed25519, dm.publicKey(), parts->signingInput, parts->signature))
      throw std::runtime_error("an ack does not verify with the DM office's certificate");
    out.push_back(std::move(env));
  }
  return out;
}

std::vector<std::string> simArgs(const Hub& hub, const std::string& record) {
  if (::access(kSimProgram.c_str(), X_OK) != 0)
    throw std::runtime_error(kSimProgram + " is missing: build the dx-sim-dm target first");
  return {kSimProgram, "--hub",  hub.url(),  "--id", "dm.samastipur",
          "--pki",     pkiDir(), "--record", record};
}

std::vector<rapidjson::Document> recordLines(const std::string& path) {
  std::vector<rapidjson::Document> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    rapidjson::Document d;
    if (parseStrict(line, d)) throw std::runtime_error("record line is not JSON: " + line);
    out.push_back(std::move(d));
  }
  return out;
}

TEST(DmSim, OnceAcknowledgesTheNoticeReceivedThenActionTakenAndTheNoticeIsAnswered) {
  Hub hub;
  HttpsClient sp(hub.url(), Hub::tlsOf("sp.samastipur"), 5000);
  std::string notice = postNotice(sp);

  std::string record = hub.dir() + "/dm-sim.jsonl";
  std::vector<std::string> args = simArgs(hub, record);
  args.insert(args.end(), {"--once", "--action-after-ms", "200"});
  CommandOutput run = runCommand(args, hub.dir() + "/dm-sim.out", 30s);
  ASSERT_EQ(run.exitCode, 0) << run.output << "\nhub log:\n" << hub.log();

  std::string state;
  EXPECT_EQ(replies(sp, notice, &state).size(), 2u);
  EXPECT_EQ(state, "answered");

  std::vector<rapidjson::Document> acks = acksFor(sp, notice);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_STREQ(acks[0]["from"].GetString(), "dm.samastipur");
  EXPECT_STREQ(acks[0]["body"]["status"].GetString(), "received");
  EXPECT_STREQ(acks[1]["body"]["status"].GetString(), "action_taken");
  ASSERT_TRUE(acks[1]["body"]["actions"].IsArray());
  ASSERT_GE(acks[1]["body"]["actions"].Size(), 1u);
  EXPECT_STREQ(acks[1]["body"]["actions"][0]["what"].GetString(),
               "Awareness notice in Hindi newspapers");
  // The second action names the notice's areas.
  EXPECT_STREQ(acks[1]["body"]["actions"][1]["where"].GetString(),
               "Samastipur Nagar, Rosera, Dalsinghsarai, Patori");

  // The record: pulled, inbox ack, two acks sent, in that order, with the hub's answers.
  std::vector<rapidjson::Document> lines = recordLines(record);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_STREQ(lines[0]["event"].GetString(), "pulled");
  EXPECT_STREQ(lines[1]["event"].GetString(), "inbox_ack");
  EXPECT_EQ(lines[1]["http"].GetInt(), 200);
  EXPECT_STREQ(lines[2]["status"].GetString(), "received");
  EXPECT_EQ(lines[2]["http"].GetInt(), 202);
  EXPECT_STREQ(lines[3]["status"].GetString(), "action_taken");
  EXPECT_EQ(lines[3]["http"].GetInt(), 202);

  // A second run (a restarted office: it starts from the beginning of its inbox) sends nothing
  // new: the acks' ids come from the notice's, so the hub recognises them.
  run = runCommand(args, hub.dir() + "/dm-sim-2.out", 30s);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  EXPECT_EQ(replies(sp, notice, nullptr).size(), 2u);
  EXPECT_EQ(acksFor(sp, notice).size(), 2u);
}

TEST(DmSim, RunningOfficeRemembersItsCursorAndStopsCleanlyOnSigterm) {
  Hub hub;
  HttpsClient sp(hub.url(), Hub::tlsOf("sp.samastipur"), 5000);
  std::string record = hub.dir() + "/dm-sim.jsonl";
  std::vector<std::string> args = simArgs(hub, record);
  args.insert(args.end(), {"--interval-ms", "50", "--action-after-ms", "50"});
  ChildProcess sim(args, hub.dir() + "/dm-sim.out");

  auto waitForTwoReplies = [&](const std::string& id) {
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (replies(sp, id, nullptr).size() >= 2) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  std::string first = postNotice(sp);
  ASSERT_TRUE(waitForTwoReplies(first)) << sim.log();
  std::string second = postNotice(sp);
  ASSERT_TRUE(waitForTwoReplies(second)) << sim.log();
  std::this_thread::sleep_for(200ms);  // several more pulls

  EXPECT_EQ(replies(sp, first, nullptr).size(), 2u);
  EXPECT_EQ(replies(sp, second, nullptr).size(), 2u);
  std::multiset<std::string> pulled;
  for (auto& line : recordLines(record))
    if (std::string(line["event"].GetString()) == "pulled") pulled.insert(line["id"].GetString());
  EXPECT_EQ(pulled.count(first), 1u) << "pulled again: the cursor was not remembered";
  EXPECT_EQ(pulled.count(second), 1u);

  sim.signal(SIGTERM);
  EXPECT_EQ(sim.wait(3s), 0) << sim.log();
}

// The whole path: the hub loads the dm_notices plugin, mails the notice to the DM office's SMTP
// server (the mail carries the signed original), and the office answers through the API.
class DmNoticesEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (!PgDatabase::server()) GTEST_SKIP() << "DX_TEST_PG_URL is not set (`make test` sets it)";
      db_ = std::make_unique<PgDatabase>();
    }
  }
  std::string storeUrl() const { return db_ ? db_->url() : std::string(); }
  std::unique_ptr<PgDatabase> db_;
};

TEST_P(DmNoticesEndToEnd, HubMailsTheNoticeAndTheOfficeAnswersIt) {
  const std::string library = std::string(DX_BINARY_DIR) + "/plugins/libdx_dm_notices.so";
  ASSERT_EQ(::access(library.c_str(), R_OK), 0) << library << " is missing: build dx_dm_notices";
  SmtpSink sink;
  Hub hub(R"([{"name": "dm_notices", "library": )" + q(library) +
              R"(, "serves": ["dm.samastipur"], "types": ["notice.awareness"],
    "delivery": {"initial_backoff_ms": 100, "max_backoff_ms": 200},
    "config": {"smtp": {"host": "127.0.0.1", "port": )" +
              std::to_string(sink.port()) + R"(}, "from": "dxhub@samastipur.example",
      "recipients": {"dm.samastipur": ["dm-office@samastipur.example"]}, "timeout_ms": 5000}}])",
          storeUrl());
  HttpsClient sp(hub.url(), Hub::tlsOf("sp.samastipur"), 5000);
  std::string notice = postNotice(sp);

  auto deadline = std::chrono::steady_clock::now() + 15s;
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    replies(sp, notice, &state);
    if (state == "delivered" && !sink.mails().empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(state, "delivered") << hub.log();
  ASSERT_EQ(sink.mails().size(), 1u);
  rapidjson::Document mail = readMail(sink.mails()[0]);
  EXPECT_EQ(std::string(mail["message_id"].GetString()), "<" + notice + "@hub.samastipur>");
  EXPECT_STREQ(mail["parts"][0]["language"].GetString(), "hi");
  EXPECT_STREQ(mail["parts"][2]["filename"].GetString(), ("notice-" + notice + ".jws").c_str());

  std::vector<std::string> args = simArgs(hub, hub.dir() + "/dm-sim.jsonl");
  args.insert(args.end(), {"--once", "--action-after-ms", "0"});
  CommandOutput run = runCommand(args, hub.dir() + "/dm-sim.out", 30s);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  EXPECT_EQ(replies(sp, notice, &state).size(), 2u);
  EXPECT_EQ(state, "answered");
  EXPECT_EQ(sink.mails().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, DmNoticesEndToEnd, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx::test
