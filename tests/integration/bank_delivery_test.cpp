// The hub delivering freeze requests to a bank through the bank_freeze connector: real
// `dxhub serve`, real `dx-sim-bank`, mutual TLS both ways on loopback. Once on SQLite and once
// on PostgreSQL.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "clock.h"
#include "hub_process.h"
#include "jws.h"
#include "test_support.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;

std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}

class BankDeliveryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !pgServerUrl()) GTEST_SKIP() << pgSkipReason();
    db_ = std::make_unique<TestDatabase>(GetParam());
  }

  void startBank(const std::string& scenario) {
    bankPort_ = freeLoopbackPort();
    std::string dir = hubDir();
    std::ofstream(dir + "/scenario.json") << scenario;
    record_ = dir + "/bank-record.jsonl";
    bank_ = std::make_unique<ChildProcess>(
        std::string(DX_BINARY_DIR) + "/dx-sim-bank",
        std::vector<std::string>{"--id", "bank.sbi", "--pki", testPki(), "--listen",
                                 "127.0.0.1:" + std::to_string(bankPort_), "--scenario",
                                 dir + "/scenario.json", "--record", record_},
        dir + "/bank.log");
  }

  // The call's time limit just above the connector's own 2 s: on PostgreSQL a killed hub's
  // claims pass on after the lease plus this limit.
  void startHub(const std::string& delivery = R"("initial_backoff_ms": 200, "max_backoff_ms": 400,)"
                                              R"( "max_attempts": 1000, "timeout_ms": 3000)") {
    HubOptions options;
    options.storeUrl = db_->url();
    options.leaseSeconds = 1;
    options.pluginsJson = R"([{"name": "bank_freeze", "library": ")" + std::string(DX_BINARY_DIR) +
                          R"(/plugins/libdx_bank_freeze.so", "serves": ["bank.sbi"],
      "types": ["freeze.request", "freeze.release"], "delivery": {)" +
                          delivery +
                          R"(}, "config": {"endpoints": {"bank.sbi": "https://127.0.0.1:)" +
                          std::to_string(bankPort_) + R"("}, "timeout_ms": 2000}}])";
    hub_ = std::make_unique<HubProcess>(options);
    hub_->start();
  }

  std::string hubDir() {
    if (dir_.empty()) {
      dir_ = "/tmp/dxhub-bank-it." + newUuid().substr(0, 8);
      std::filesystem::create_directories(dir_);
    }
    return dir_;
  }
  void TearDown() override {
    hub_.reset();
    bank_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string postRequest() {
    std::string body = liveExample("freeze.request");
    std::string jws = signer("cc.samastipur")
                          .sign(envelope("freeze.request", "cc.samastipur", "bank.sbi", body, {},
                                         "31509260012345"));
    Response r = Client::as(hub_->port(), "cc.samastipur").post("/v1/messages", jws);
    EXPECT_EQ(r.status, 202) << r;
    return std::string(verifyJws(jws, registry(), SystemClock::instance().unixSeconds())->id());
  }

  rapidjson::Document status(const std::string& id) {
    rapidjson::Document d;
    std::string body = Client::as(hub_->port(), "cc.samastipur").get("/v1/messages/" + id).body;
    d.Parse(body.c_str(), body.size());
    return d;
  }

  // Waits (up to 20 s) until `done` holds for the message's status; the last status seen.
  template <class Done>
  rapidjson::Document waitUntil(const std::string& id, Done done) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      rapidjson::Document s = status(id);
      if (done(s) || std::chrono::steady_clock::now() > deadline) return s;
      std::this_thread::sleep_for(50ms);
    }
  }
  static bool settled(const rapidjson::Document& s) {
    std::string state = str(s, "state");
    return state == "answered" || state == "delivered" || state == "dead";
  }

  // How many times the bank received `id`, and how many of those it answered 200.
  std::pair<int, int> bankSaw(const std::string& id) {
    std::ifstream in(record_);
    std::string line;
    int seen = 0, ok = 0;
    while (std::getline(in, line)) {
      rapidjson::Document d;
      d.Parse(line.c_str());
      if (str(d, "id") != id) continue;
      ++seen;
      if (d.HasMember("status") && d["status"].IsInt() && d["status"].GetInt() == 200) ++ok;
    }
    return {seen, ok};
  }

  int bankPort_ = 0;
  std::string dir_, record_;
  std::unique_ptr<ChildProcess> bank_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<HubProcess> hub_;
};

TEST_P(BankDeliveryTest, BankDownThenUpGetsTheRequestExactlyOnceAndTheAnswerComesBack) {
  startBank(R"({"behaviour": "hold_all", "down_for_s": 2})");
  startHub();
  std::string id = postRequest();
  // While the bank is down, the status shows attempts, the error and the next attempt.
  rapidjson::Document s =
      waitUntil(id, [](auto& d) { return d.HasMember("attempts") && d["attempts"].GetInt() >= 1; });
  EXPECT_EQ(str(s, "state"), "delivering");
  EXPECT_NE(str(s, "last_error").find("refused"), std::string::npos) << str(s, "last_error");
  EXPECT_FALSE(str(s, "next_attempt_at").empty());
  s = waitUntil(id, settled);
  EXPECT_EQ(str(s, "state"), "answered");  // the bank's freeze.response came back in its 200
  ASSERT_TRUE(s.HasMember("replies"));
  EXPECT_EQ(s["replies"].Size(), 1u);
  EXPECT_EQ(bankSaw(id), std::make_pair(1, 1));
}

TEST_P(BankDeliveryTest, Bank500ThenOkIsDelivered) {
  startBank(R"({"behaviour": "hold_all", "fail_first": 2})");
  startHub();
  std::string id = postRequest();
  // The answer can be stored a moment before the attempt that brought it is counted.
  rapidjson::Document s = waitUntil(id, [](auto& d) {
    return settled(d) && d.HasMember("attempts") && d["attempts"].GetInt() >= 3;
  });
  EXPECT_EQ(str(s, "state"), "answered");
  EXPECT_EQ(s["attempts"].GetInt(), 3);
  EXPECT_EQ(bankSaw(id), std::make_pair(3, 1));
}

TEST_P(BankDeliveryTest, Bank400IsDeadAndTheCyberCellIsTold) {
  startBank(R"({"status": 400})");
  startHub();
  std::string id = postRequest();
  rapidjson::Document s = waitUntil(id, settled);
  EXPECT_EQ(str(s, "state"), "dead");
  EXPECT_NE(str(s, "last_error").find("400"), std::string::npos) << str(s, "last_error");
  // The hub's escalation waits in the cyber cell's inbox, signed by the hub.
  bool escalated = false;
  for (int i = 0; i < 100 && !escalated; ++i) {
    std::string body = Client::as(hub_->port(), "cc.samastipur").get("/v1/inbox?after=0").body;
    rapidjson::Document inbox;
    inbox.Parse(body.c_str(), body.size());
    if (inbox.IsObject() && inbox.HasMember("messages"))
      for (auto& m : inbox["messages"].GetArray()) {
        auto v = verifyJws(str(m, "jws"), registry(), SystemClock::instance().unixSeconds());
        escalated = escalated || (v && v->type() == "hub.escalation" &&
                                  str(v->envelope["body"], "message") == id &&
                                  str(v->envelope["body"], "reason") == "delivery_failed");
      }
    if (!escalated) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(escalated);
}

TEST_P(BankDeliveryTest, HubKilledDuringDeliveriesLosesNoneAfterRestart) {
  startBank(R"({"behaviour": "hold_all", "delay_ms": 150})");
  startHub();
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(postRequest());
  std::this_thread::sleep_for(400ms);
  hub_->kill();  // SIGKILL: some delivered, one in flight, the rest waiting
  hub_->start();
  int duplicates = 0;
  for (const std::string& id : ids) {
    rapidjson::Document s = waitUntil(id, settled);
    EXPECT_EQ(str(s, "state"), "answered") << id;
    auto [seen, ok] = bankSaw(id);
    EXPECT_GE(ok, 1) << id;
    duplicates += seen - 1;
    // However often the bank saw it, the hub stored one answer (a repeat is a duplicate).
    EXPECT_EQ(s["replies"].Size(), 1u) << id;
  }
  // At least once: only the delivery in flight at the kill may be repeated.
  EXPECT_LE(duplicates, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, BankDeliveryTest, ::testing::ValuesIn(storeBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx::test
