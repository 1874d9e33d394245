// The bank_freeze connector against the real dx-sim-bank process (mutual TLS on loopback): what
// each kind of bank answer comes to for the core, and what reaches the hub's pipeline.
#include "bank_freeze_connector.h"

#include <csignal>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "bank_test_support.h"
#include "message_validator.h"

namespace dx {

// For test failure messages: "Retry(bank.sbi answered HTTP 500 (unavailable))".
std::ostream& operator<<(std::ostream& out, const DeliveryResult& r) {
  const char* kind = r.kind == DeliveryResult::Kind::Delivered ? "Delivered"
                     : r.kind == DeliveryResult::Kind::Retry   ? "Retry"
                                                               : "Reject";
  return out << kind << "(" << r.reason << ")";
}

namespace bank_freeze {
namespace {

using namespace std::chrono_literals;
using bank_test::BankSim;
using bank_test::FakeContext;
using bank_test::FakeHub;
using bank_test::freezeRequest;
using Kind = DeliveryResult::Kind;

ConnectorSettings settingsFor(const std::map<std::string, std::string>& endpoints,
                              int timeoutMs = 5000, const std::string& path = "/dx/v1/freeze") {
  std::string json = "{";
  for (const auto& [bank, url] : endpoints) {
    if (json.size() > 1) json += ",";
    json += "\"" + bank + "\":\"" + url + "\"";
  }
  json += "}";
  return ConnectorSettings({{"endpoints", json},
                            {"path", "\"" + path + "\""},
                            {"timeout_ms", std::to_string(timeoutMs)}});
}

// A started connector pushing to one simulated bank.
struct Rig {
  explicit Rig(BankSim& sim, int timeoutMs = 5000, const std::string& bank = "bank.sbi") {
    connector.start(context, settingsFor({{bank, sim.url()}}, timeoutMs));
  }
  ~Rig() { connector.stop(); }
  FakeContext context;
  BankFreezeConnector connector;
};

// The verified envelope of a submitted answer (fails the test if it does not verify).
VerifiedMessage verifiedAnswer(const std::string& jws) {
  Expected<VerifiedMessage> m =
      verifyJws(jws, bank_test::registry(), SystemClock::instance().unixSeconds());
  if (!m) throw std::runtime_error("answer does not verify: " + m.problem().detail);
  return std::move(m.value());
}

// What the hub's schema and domain checks say of an answer: empty when it passes.
std::string problems(const VerifiedMessage& m) {
  static const MessageValidator validator(DX_SOURCE_DIR "/config/schemas");
  std::optional<Problem> p = validator.validate(m.envelope);
  return p ? p->code + ": " + p->detail : std::string();
}

class BankFreezeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }
};

TEST_F(BankFreezeTest, DeclaresExactlyEndpointsPathAndTimeout) {
  BankFreezeConnector c;
  std::vector<ConfigKey> keys = c.configKeys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].name, "endpoints");
  EXPECT_EQ(keys[0].type, ConfigKey::Type::Object);
  EXPECT_EQ(keys[0].defaultJson, "{}");
  EXPECT_EQ(keys[1].name, "path");
  EXPECT_EQ(keys[1].type, ConfigKey::Type::String);
  EXPECT_EQ(keys[1].defaultJson, "\"/dx/v1/freeze\"");
  EXPECT_EQ(keys[2].name, "timeout_ms");
  EXPECT_EQ(keys[2].type, ConfigKey::Type::Integer);
  EXPECT_EQ(keys[2].defaultJson, "10000");
  for (const ConfigKey& k : keys) EXPECT_FALSE(k.meaning.empty()) << k.name;
  EXPECT_EQ(c.name(), "bank_freeze");
}

TEST_F(BankFreezeTest, BadSettingsStopStartWithTheKeyNamed) {
  FakeContext context;
  auto startWith = [&](const ConnectorSettings& s) -> std::string {
    BankFreezeConnector c;
    try {
      c.start(context, s);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "started";
  };
  EXPECT_EQ(startWith(settingsFor({{"bank.sbi", "http://127.0.0.1:1"}})).find("endpoints.bank.sbi"),
            0u);
  EXPECT_EQ(startWith(settingsFor({{"bank.sbi", "https://127.0.0.1:1"}}, 5000, "dx/v1/freeze"))
                .find("path:"),
            0u);
  EXPECT_EQ(startWith(settingsFor({{"bank.sbi", "https://127.0.0.1:1"}}, 0)).find("timeout_ms:"),
            0u);
}

TEST_F(BankFreezeTest, HoldAllIsDeliveredAndTheSignedAnswerIsSubmitted) {
  BankSim sim(R"({"behaviour": "hold_all"})");
  sim.start();
  Rig rig(sim);
  Message request = freezeRequest();

  DeliveryResult r = rig.connector.deliver(request);
  EXPECT_EQ(r.kind, Kind::Delivered) << r;

  std::vector<std::string> submitted = rig.context.submitted();
  ASSERT_EQ(submitted.size(), 1u);
  VerifiedMessage answer = verifiedAnswer(submitted[0]);
  EXPECT_EQ(answer.type(), "freeze.response");
  EXPECT_EQ(answer.from(), "bank.sbi");
  EXPECT_EQ(answer.to(), "cc.samastipur");
  EXPECT_EQ(answer.ref(), request.id);
  EXPECT_EQ(answer.caseId(), request.caseId);
  EXPECT_NE(answer.id(), request.id);
  const auto& body = answer.envelope["body"];
  EXPECT_STREQ(body["status"].GetString(), "held");
  EXPECT_STREQ(body["held_amount"].GetString(), "45000.00");
  EXPECT_EQ(problems(answer), "");

  std::vector<std::string> records = sim.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0].find("\"id\":\"" + request.id + "\""), std::string::npos) << records[0];
  EXPECT_NE(records[0].find("\"type\":\"freeze.request\""), std::string::npos) << records[0];
}

TEST_F(BankFreezeTest, DemoScenarioSbiHoldsPartAndReportsWhereTheMoneyWent) {
  BankSim sim(bank_test::readWhole(DX_SOURCE_DIR "/sim/bank_scenarios/demo.json"));
  sim.start();
  Rig rig(sim);
  Message request = freezeRequest();
  ASSERT_EQ(rig.connector.deliver(request).kind, Kind::Delivered);
  ASSERT_EQ(rig.context.submitted().size(), 1u);
  VerifiedMessage answer = verifiedAnswer(rig.context.submitted()[0]);
  EXPECT_EQ(problems(answer), "");
  const auto& body = answer.envelope["body"];
  EXPECT_STREQ(body["status"].GetString(), "partially_held");
  EXPECT_STREQ(body["held_amount"].GetString(), "12000.00");
  const auto& out = body["outflows"];
  ASSERT_EQ(out.Size(), 3u);
  EXPECT_STREQ(out[0]["kind"].GetString(), "transfer");
  EXPECT_STREQ(out[0]["amount"].GetString(), "18000.00");
  EXPECT_STREQ(out[0]["account"]["ifsc"].GetString(), "HDFC0000123");
  EXPECT_STREQ(out[1]["amount"].GetString(), "10000.00");
  EXPECT_STREQ(out[1]["account"]["ifsc"].GetString(), "PUNB0012300");
  EXPECT_STREQ(out[2]["kind"].GetString(), "atm");
  EXPECT_STREQ(out[2]["amount"].GetString(), "5000.00");
  // after_min: 5 minutes after the request's last transaction (10:04:37+05:30).
  EXPECT_STREQ(out[0]["at"].GetString(), "2026-10-06T04:39:37Z");
}

TEST_F(BankFreezeTest, DemoScenarioOtherBanksHoldWhatArrives) {
  BankSim sim(bank_test::readWhole(DX_SOURCE_DIR "/sim/bank_scenarios/demo.json"), "bank.hdfc");
  sim.start();
  Rig rig(sim, 5000, "bank.hdfc");
  ASSERT_EQ(rig.connector.deliver(freezeRequest("bank.hdfc")).kind, Kind::Delivered);
  ASSERT_EQ(rig.context.submitted().size(), 1u);
  VerifiedMessage answer = verifiedAnswer(rig.context.submitted()[0]);  // ES256
  EXPECT_STREQ(answer.envelope["body"]["status"].GetString(), "held");
  EXPECT_EQ(problems(answer), "");
}

TEST_F(BankFreezeTest, ServerErrorIsRetriedAndTheRetryIsDelivered) {
  BankSim sim(R"({"fail_first": 1})");
  sim.start();
  Rig rig(sim);
  Message request = freezeRequest();
  DeliveryResult first = rig.connector.deliver(request);
  EXPECT_EQ(first.kind, Kind::Retry) << first;
  EXPECT_NE(first.reason.find("bank.sbi answered HTTP 500"), std::string::npos) << first;
  EXPECT_TRUE(rig.context.submitted().empty());
  DeliveryResult second = rig.connector.deliver(request);
  EXPECT_EQ(second.kind, Kind::Delivered) << second;
  EXPECT_EQ(rig.context.submitted().size(), 1u);
  EXPECT_EQ(sim.records().size(), 2u);
}

TEST_F(BankFreezeTest, ClientErrorIsRejected) {
  BankSim sim(R"({"status": 400})");
  sim.start();
  Rig rig(sim);
  DeliveryResult r = rig.connector.deliver(freezeRequest());
  EXPECT_EQ(r.kind, Kind::Reject) << r;
  EXPECT_NE(r.reason.find("HTTP 400"), std::string::npos) << r;
  EXPECT_TRUE(rig.context.submitted().empty());
}

TEST_F(BankFreezeTest, TooManyRequestsIsRetried) {
  BankSim sim(R"({"status": 429})");
  sim.start();
  Rig rig(sim);
  DeliveryResult r = rig.connector.deliver(freezeRequest());
  EXPECT_EQ(r.kind, Kind::Retry) << r;
}

TEST_F(BankFreezeTest, BankThatIsDownIsRetriedThenDeliveredOnceUp) {
  BankSim sim(R"({"down_for_s": 1})");
  sim.start(false);
  Rig rig(sim);
  Message request = freezeRequest();
  DeliveryResult first = rig.connector.deliver(request);
  EXPECT_EQ(first.kind, Kind::Retry) << first;
  EXPECT_NE(first.reason.find("connection refused"), std::string::npos) << first;
  sim.waitListening(10s);
  DeliveryResult second = rig.connector.deliver(request);
  EXPECT_EQ(second.kind, Kind::Delivered) << second;
  EXPECT_EQ(rig.context.submitted().size(), 1u);
}

TEST_F(BankFreezeTest, SlowBankPastTheTimeoutIsRetriedNamingTheTimeout) {
  BankSim sim(R"({"delay_ms": 3000})");
  sim.start();
  Rig rig(sim, 300);
  auto t0 = std::chrono::steady_clock::now();
  DeliveryResult r = rig.connector.deliver(freezeRequest());
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.kind, Kind::Retry) << r;
  EXPECT_NE(r.reason.find("timeout: no answer within 300 ms"), std::string::npos) << r;
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(rig.context.submitted().empty());
}

TEST_F(BankFreezeTest, GarbageAnswerCountsAsDeliveredWithNothingSubmitted) {
  BankSim sim(R"({"garbage": true})");
  sim.start();
  Rig rig(sim);
  DeliveryResult r = rig.connector.deliver(freezeRequest());
  EXPECT_EQ(r.kind, Kind::Delivered) << r;
  EXPECT_TRUE(rig.context.submitted().empty());
  EXPECT_EQ(sim.records().size(), 1u);
}

TEST_F(BankFreezeTest, AnswerRefusedByTheHubStillLeavesTheRequestDelivered) {
  BankSim sim(R"({"behaviour": "hold_all"})");
  sim.start();
  Rig rig(sim);
  rig.context.answer = {403, "forbidden", R"({"code":"forbidden"})"};
  DeliveryResult r = rig.connector.deliver(freezeRequest());
  EXPECT_EQ(r.kind, Kind::Delivered) << r;
  EXPECT_EQ(rig.context.submitted().size(), 1u);
}

TEST_F(BankFreezeTest, RepeatedDeliveryGetsTheSameAnswer) {
  BankSim sim(R"({"behaviour": "hold_all"})");
  sim.start();
  Rig rig(sim);
  Message request = freezeRequest();
  ASSERT_EQ(rig.connector.deliver(request).kind, Kind::Delivered);
  ASSERT_EQ(rig.connector.deliver(request).kind, Kind::Delivered);
  std::vector<std::string> submitted = rig.context.submitted();
  ASSERT_EQ(submitted.size(), 2u);
  EXPECT_EQ(submitted[0], submitted[1]);  // same id, same bytes: the hub answers "duplicate"
}

TEST_F(BankFreezeTest, PerAccountOverrideAnswersAccountNotFound) {
  BankSim sim(R"({"behaviour": "hold_all",
                  "accounts": {"30112233445": {"behaviour": "account_not_found"}}})");
  sim.start();
  Rig rig(sim);
  ASSERT_EQ(rig.connector.deliver(freezeRequest()).kind, Kind::Delivered);
  ASSERT_EQ(rig.context.submitted().size(), 1u);
  VerifiedMessage answer = verifiedAnswer(rig.context.submitted()[0]);
  EXPECT_STREQ(answer.envelope["body"]["status"].GetString(), "account_not_found");
  EXPECT_EQ(problems(answer), "");
}

TEST_F(BankFreezeTest, AcceptAsyncIsDeliveredAndTheBankPostsItsAnswerToTheHubLater) {
  FakeHub hub;
  BankSim sim(R"({"behaviour": "accept_async", "answer_after_ms": 200, "answer": "atm"})",
              "bank.sbi", hub.url());
  sim.start();
  Rig rig(sim);
  Message request = freezeRequest();
  DeliveryResult r = rig.connector.deliver(request);
  EXPECT_EQ(r.kind, Kind::Delivered) << r;
  EXPECT_TRUE(rig.context.submitted().empty());

  std::optional<FakeHub::Post> post = hub.waitForPost(5s);
  ASSERT_TRUE(post) << sim.log();
  EXPECT_EQ(post->path, "/v1/messages");
  EXPECT_EQ(post->client, "bank.sbi");  // mutual TLS as the bank itself
  VerifiedMessage answer = verifiedAnswer(post->body);
  EXPECT_EQ(answer.ref(), request.id);
  EXPECT_EQ(answer.from(), "bank.sbi");
  EXPECT_STREQ(answer.envelope["body"]["status"].GetString(), "money_moved");
  EXPECT_STREQ(answer.envelope["body"]["outflows"][0]["kind"].GetString(), "atm");
  EXPECT_EQ(problems(answer), "");
}

TEST_F(BankFreezeTest, BankWithoutAnEndpointIsRejected) {
  FakeContext context;
  BankFreezeConnector c;
  c.start(context, settingsFor({}));
  DeliveryResult r = c.deliver(freezeRequest("bank.pnb"));
  EXPECT_EQ(r.kind, Kind::Reject) << r;
  EXPECT_EQ(r.reason, "no endpoint configured for bank.pnb; it pulls from its inbox");
}

TEST_F(BankFreezeTest, SimStopsCleanlyOnSigterm) {
  BankSim sim(R"({"behaviour": "hold_all"})");
  sim.start();
  EXPECT_EQ(sim.stop(), 0) << sim.log();
}

}  // namespace
}  // namespace bank_freeze
}  // namespace dx
