// The plugin loader and the delivery engine, through the real `dxhub serve` and the probe
// connector (tests/integration/plugins/probe_connector.cpp), whose record file counts deliveries.
// The delivery tests run once on SQLite and once on PostgreSQL.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "base64url.h"
#include "clock.h"
#include "delivery_engine.h"
#include "hub_process.h"
#include "journal.h"
#include "jws.h"
#include "test_support.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;

std::string plugin(const std::string& stem) {
  return std::string(DX_BINARY_DIR) + "/test-plugins/libdx_" + stem + ".so";
}

// A probe serving bank.sbi and bank.pnb, with `config` and `delivery` (JSON members).
std::string probe(const std::string& config, const std::string& delivery = {}) {
  return R"([{"name": "probe", "library": ")" + plugin("probe_connector") +
         R"(", "serves": ["bank.sbi", "bank.pnb"], "types": ["freeze.request"], "delivery": {)" +
         (delivery.empty() ? R"("initial_backoff_ms": 50, "max_backoff_ms": 200)" : delivery) +
         R"(}, "config": {)" + config + "}}]";
}

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return d;
}

class DeliveryTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<HubProcess> hub_;
  std::string record_;

  void SetUp() override {
    if (GetParam() == "postgresql" && !pgServerUrl()) GTEST_SKIP() << pgSkipReason();
    db_ = std::make_unique<TestDatabase>(GetParam());
    record_ = Poco::TemporaryFile::tempName() + "-deliveries.txt";
    Poco::TemporaryFile::registerForDeletion(record_);
  }
  void TearDown() override { hub_.reset(); }

  void startHub(const std::string& config, const std::string& delivery = {}) {
    HubOptions options;
    options.storeUrl = db_->url();
    // A killed hub's claims on PostgreSQL pass on after the lease plus the connector's timeout.
    options.leaseSeconds = 1;
    options.pluginsJson = probe(config + R"(, "record": ")" + record_ + "\"", delivery);
    hub_ = std::make_unique<HubProcess>(options);
    hub_->start();
  }

  std::string post(const std::string& to = "bank.sbi") {
    std::string payload = envelope("freeze.request", "cc.samastipur", to, liveExample("freeze.request"),
                                   {}, "31509260012345");
    std::string jws = signer("cc.samastipur").sign(payload);
    Response r = Client::as(hub_->port(), "cc.samastipur").post("/v1/messages", jws);
    EXPECT_EQ(r.status, 202) << r;
    return verifyJws(jws, registry(), SystemClock::instance().unixSeconds())->id().data();
  }

  rapidjson::Document status(const std::string& id) {
    return json(Client::as(hub_->port(), "cc.samastipur").get("/v1/messages/" + id).body);
  }

  // Waits until the message's state is `state` (up to 15 s); the last status seen.
  rapidjson::Document waitFor(const std::string& id, const std::string& state) {
    auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      rapidjson::Document s = status(id);
      if ((s.IsObject() && s.HasMember("state") && s["state"].GetString() == state) ||
          std::chrono::steady_clock::now() > deadline)
        return s;
      std::this_thread::sleep_for(50ms);
    }
  }

  std::map<std::string, int> deliveriesById() {
    std::map<std::string, int> calls;
    std::ifstream in(record_);
    std::string id;
    int attempt;
    while (in >> id >> attempt) ++calls[id];
    return calls;
  }
};

std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}

TEST_P(DeliveryTest, MessageIsDeliveredOnceThroughItsConnector) {
  startHub(R"("mode": "deliver")");
  std::string id = post();
  rapidjson::Document s = waitFor(id, "delivered");
  EXPECT_EQ(str(s, "state"), "delivered");
  EXPECT_EQ(s["attempts"].GetInt(), 1);
  EXPECT_EQ(str(s, "connector"), "probe");
  EXPECT_EQ(deliveriesById()[id], 1);
}

TEST_P(DeliveryTest, ManyMessagesToOneRecipientAreEachDeliveredExactlyOnce) {
  startHub(R"("mode": "deliver")");
  std::vector<std::string> ids(240);
  std::vector<std::thread> posters;
  for (int t = 0; t < 8; ++t)
    posters.emplace_back([&, t] {
      for (int i = t; i < 240; i += 8) ids[i] = post();
    });
  for (auto& p : posters) p.join();
  for (const std::string& id : ids) EXPECT_EQ(str(waitFor(id, "delivered"), "state"), "delivered");
  std::map<std::string, int> calls = deliveriesById();
  EXPECT_EQ(calls.size(), ids.size());
  for (const std::string& id : ids) EXPECT_EQ(calls[id], 1) << id;
}

TEST_P(DeliveryTest, ARecipientsMessagesGoInOrderEvenThroughRetries) {
  // Each message fails its first attempt: the next one must wait until it is delivered.
  startHub(R"("fail_first": 1)", R"("initial_backoff_ms": 30, "max_backoff_ms": 60)");
  std::vector<std::string> ids;
  for (int i = 0; i < 15; ++i) ids.push_back(post());
  for (const std::string& id : ids) EXPECT_EQ(str(waitFor(id, "delivered"), "state"), "delivered");
  std::vector<std::pair<std::string, int>> calls;  // in the order deliver() was called
  std::ifstream in(record_);
  std::string id;
  int attempt;
  while (in >> id >> attempt) calls.emplace_back(id, attempt);
  ASSERT_EQ(calls.size(), 2 * ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(calls[2 * i], std::make_pair(ids[i], 1)) << "call " << 2 * i;
    EXPECT_EQ(calls[2 * i + 1], std::make_pair(ids[i], 2)) << "call " << 2 * i + 1;
  }
}

TEST_P(DeliveryTest, InFlightDeliversToOneRecipientThroughSeveralLanesEachOnce) {
  // Each call takes 100 ms: with in_flight 4, up to four run at once for one recipient.
  std::string peak = record_ + "-peak";
  Poco::TemporaryFile::registerForDeletion(peak);
  startHub(R"("delay_ms": 100, "peak_record": ")" + peak + "\"",
           R"("initial_backoff_ms": 50, "max_backoff_ms": 200, "in_flight": 4)");
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) ids.push_back(post());
  for (const std::string& id : ids) EXPECT_EQ(str(waitFor(id, "delivered"), "state"), "delivered");
  std::map<std::string, int> calls = deliveriesById();
  EXPECT_EQ(calls.size(), ids.size());
  for (const std::string& id : ids) EXPECT_EQ(calls[id], 1) << id;
  int most = 0;
  std::ifstream(peak) >> most;
  EXPECT_GE(most, 2);
  EXPECT_LE(most, 4);
}

// Where the process may (root, CAP_SYS_NICE), the journal's thread runs 10 below the process's
// niceness and the delivery lanes with their call threads 5 below: receipts first, then
// delivering what was accepted, then accepting more. Otherwise all run at the process's own, and
// the log says so.
TEST_P(DeliveryTest, TheJournalAndTheLanesRunAtTheirNiceness) {
  startHub(R"("delay_ms": 1000)");
  post();
  std::map<std::string, int> nice;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    std::this_thread::sleep_for(20ms);
    nice = test::nicenessByThread(hub_->pid());
  } while (!nice.count("dx-call") && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(nice.count("dx-call")) << "no delivery call in flight";
  const bool may = hub_->log().find("the journal's thread runs 10 below") != std::string::npos;
  EXPECT_EQ(may, geteuid() == 0) << hub_->log();
  const int own = getpriority(PRIO_PROCESS, 0);  // this test's, which the hub inherited
  EXPECT_EQ(nice["dx-journal"], own + (may ? Journal::kNiceness : 0));
  EXPECT_EQ(nice["dx-lane"], own + (may ? DeliveryEngine::kLaneNiceness : 0));
  EXPECT_EQ(nice["dx-call"], own + (may ? DeliveryEngine::kLaneNiceness : 0));
}

TEST_P(DeliveryTest, RetriesAreVisibleAndEndInDelivery) {
  startHub(R"("fail_first": 3)", R"("initial_backoff_ms": 400, "max_backoff_ms": 400)");
  std::string id = post();
  // While it retries, the status shows the attempts, the last error and the next attempt.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  rapidjson::Document s;
  do {
    s = status(id);
    std::this_thread::sleep_for(20ms);
  } while (!(s.HasMember("attempts") && s["attempts"].GetInt() >= 1) &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(str(s, "state"), "delivering");
  EXPECT_EQ(str(s, "last_error"), "probe: planned failure");
  EXPECT_FALSE(str(s, "next_attempt_at").empty());
  s = waitFor(id, "delivered");
  EXPECT_EQ(str(s, "state"), "delivered");
  EXPECT_EQ(s["attempts"].GetInt(), 4);
  EXPECT_EQ(deliveriesById()[id], 4);
}

// The escalation a sender finds in its inbox about `id`, or an empty string.
std::string escalationFor(int port, const std::string& id) {
  Response r = Client::as(port, "cc.samastipur").get("/v1/inbox?after=0&limit=100");
  rapidjson::Document inbox = json(r.body);
  if (!inbox.IsObject() || !inbox.HasMember("messages")) return {};
  for (auto& m : inbox["messages"].GetArray()) {
    if (str(m, "type") != "hub.escalation") continue;
    Expected<VerifiedMessage> v =
        verifyJws(str(m, "jws"), registry(), SystemClock::instance().unixSeconds());
    if (v && v->from() == "hub.samastipur" && str(v->envelope["body"], "message") == id)
      return str(v->envelope["body"], "reason");
  }
  return {};
}

TEST_P(DeliveryTest, RejectedMessageIsDeadAndTheSenderGetsASignedEscalation) {
  startHub(R"("mode": "reject")");
  std::string id = post();
  rapidjson::Document s = waitFor(id, "dead");
  EXPECT_EQ(str(s, "state"), "dead");
  EXPECT_EQ(str(s, "last_error"), "probe: planned rejection");
  std::string reason;
  for (int i = 0; i < 100 && reason.empty(); ++i) {
    reason = escalationFor(hub_->port(), id);
    if (reason.empty()) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(reason, "delivery_failed");
}

TEST_P(DeliveryTest, LastAttemptMakesItDeadWithEscalation) {
  startHub(R"("fail_first": 1000)",
           R"("initial_backoff_ms": 20, "max_backoff_ms": 40, "max_attempts": 3)");
  std::string id = post();
  rapidjson::Document s = waitFor(id, "dead");
  EXPECT_EQ(str(s, "state"), "dead");
  EXPECT_EQ(s["attempts"].GetInt(), 3);
  EXPECT_EQ(deliveriesById()[id], 3);
  std::string reason;
  for (int i = 0; i < 100 && reason.empty(); ++i) {
    reason = escalationFor(hub_->port(), id);
    if (reason.empty()) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(reason, "delivery_failed");
}

// What a hub killed between storing a message's `dead` outcome and storing its escalation leaves
// behind: the message dead, no hub.escalation about it (not in the messages, not in the audit),
// and not recorded as escalated.
class EscalationSweepTest : public DeliveryTest {
 protected:
  std::int64_t escalationsAbout(const std::string& id) {
    return db_->queryInt("SELECT COUNT(*) FROM messages WHERE type = 'hub.escalation' AND ref = '" +
                         id + "'");
  }
  // A dead message whose escalation was stored and recorded, and then both undone.
  std::string deadWithoutEscalation(bool auditToo) {
    std::string id = deadAndEscalated();
    const std::string escalation =
        "(SELECT id FROM messages WHERE type = 'hub.escalation' AND ref = '" + id + "')";
    if (auditToo) {
      // Its acceptance is the audit's last entry: removing it leaves the chain whole.
      EXPECT_EQ(db_->queryInt("SELECT MAX(seq) FROM audit"),
                db_->queryInt("SELECT seq FROM audit WHERE message_id = " + escalation));
      db_->execute("DELETE FROM audit WHERE message_id = " + escalation);
    }
    db_->execute("DELETE FROM messages WHERE type = 'hub.escalation' AND ref = '" + id + "'");
    db_->execute("UPDATE messages SET escalated = 0 WHERE id = '" + id + "'");
    EXPECT_EQ(escalationsAbout(id), 0);
    return id;
  }
  // A dead message, its delivery_failed escalation stored and recorded on it.
  std::string deadAndEscalated() {
    startHub(R"("mode": "reject")");
    std::string id = post();
    EXPECT_EQ(str(waitFor(id, "dead"), "state"), "dead");
    const std::string recorded = "SELECT escalated FROM messages WHERE id = '" + id + "'";
    for (int i = 0; i < 100 && db_->queryInt(recorded) == 0; ++i)
      std::this_thread::sleep_for(50ms);
    EXPECT_EQ(db_->queryInt(recorded), 1);
    EXPECT_EQ(escalationsAbout(id), 1);
    return id;
  }
};

TEST_P(EscalationSweepTest, AnotherEscalationAboutTheMessageDoesNotStandInForItsOwn) {
  // Killed between the dead outcome and its escalation, while the request's deadline escalation
  // to the same sender was stored: that one (here the stored escalation under another id) is
  // not the delivery_failed one, which the sweep still sends.
  std::string id = deadAndEscalated();
  ASSERT_EQ(hub_->stop(), 0);
  db_->execute("UPDATE messages SET id = '6f1d2c3b-0000-4000-8000-00000000d1ed' WHERE"
               " type = 'hub.escalation' AND ref = '" + id + "'");
  db_->execute("UPDATE messages SET escalated = 0 WHERE id = '" + id + "'");
  ASSERT_EQ(escalationsAbout(id), 1);
  hub_->start();
  for (int i = 0; i < 100 && escalationsAbout(id) < 2; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(escalationsAbout(id), 2);
  std::this_thread::sleep_for(2500ms);  // the periodic sweeps (every lease, 1 s) add none
  EXPECT_EQ(escalationsAbout(id), 2);
}

TEST_P(EscalationSweepTest, AtStartTheHubSendsTheMissingEscalationExactlyOnce) {
  std::string id = deadWithoutEscalation(true);
  ASSERT_EQ(hub_->stop(), 0);
  ASSERT_EQ(escalationsAbout(id), 0);
  hub_->start();
  for (int i = 0; i < 100 && escalationsAbout(id) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(escalationFor(hub_->port(), id), "delivery_failed");
  std::this_thread::sleep_for(2500ms);  // the periodic sweeps (every lease, 1 s) add none
  EXPECT_EQ(escalationsAbout(id), 1);
  CommandResult verify = hub_->runCommand({"audit", "verify", "--config", hub_->configPath()});
  EXPECT_EQ(verify.exitCode, 0) << verify.output;
}

TEST_P(EscalationSweepTest, ARunningHubFindsAMissingEscalationWithinTwoLeasePeriods) {
  // As when another instance died in between: the periodic sweep finds it.
  std::string id = deadWithoutEscalation(false);
  for (int i = 0; i < 100 && escalationsAbout(id) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(escalationFor(hub_->port(), id), "delivery_failed");
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(escalationsAbout(id), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, EscalationSweepTest, ::testing::ValuesIn(storeBackends()),
                         [](const auto& info) { return info.param; });

TEST_P(DeliveryTest, AHungConnectorIsCutOffAndOtherRecipientsKeepFlowing) {
  // The probe hangs on freeze.requests to SBI only; PNB's must still be delivered.
  startHub(R"("mode": "hang", "hang_ms": 30000)",
           R"("initial_backoff_ms": 100, "max_backoff_ms": 200, "timeout_ms": 300)");
  std::string stuck = post("bank.sbi");
  std::string flowing = post("bank.pnb");
  EXPECT_EQ(str(waitFor(flowing, "delivered"), "state"), "delivered");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  rapidjson::Document s;
  do {
    s = status(stuck);
    std::this_thread::sleep_for(50ms);
  } while (str(s, "last_error").empty() && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(str(s, "state"), "delivering");
  EXPECT_EQ(str(s, "last_error"), "no answer from probe within 300 ms");
  // And the hub still shuts down promptly with a call hanging.
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(hub_->stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
}

TEST_P(DeliveryTest, KilledHubResumesDeliveriesAfterRestart) {
  startHub(R"("fail_first": 2)",
           R"("initial_backoff_ms": 1000, "max_backoff_ms": 1000, "timeout_ms": 2000)");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(post(i % 2 ? "bank.pnb" : "bank.sbi"));
  std::this_thread::sleep_for(300ms);
  hub_->kill();  // SIGKILL while deliveries are in flight or waiting
  hub_->start();
  for (const std::string& id : ids)
    EXPECT_EQ(str(waitFor(id, "delivered"), "state"), "delivered") << id;
  std::map<std::string, int> calls = deliveriesById();
  for (const std::string& id : ids) EXPECT_GE(calls[id], 1) << id;
}

INSTANTIATE_TEST_SUITE_P(Backends, DeliveryTest, ::testing::ValuesIn(storeBackends()),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------- the loader

CommandResult servePlugins(const std::string& pluginsJson) {
  HubOptions options;
  options.pluginsJson = pluginsJson;
  HubProcess hub(options);
  return hub.runCommand({"plugins", "--config", hub.configPath()});
}

TEST(PluginLoader, ListsTheConnectorWithItsKeys) {
  CommandResult r = servePlugins(probe(R"("mode": "deliver")"));
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("probe 1.0.0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("delivers to: bank.sbi, bank.pnb"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fail_first (integer, default 0)"), std::string::npos) << r.output;
}

TEST(PluginLoader, RefusesAPluginBuiltForAnotherAbi) {
  CommandResult r =
      servePlugins(R"([{"name": "old", "library": ")" + plugin("wrong_abi_plugin") + R"("}])");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("plugin ABI 999, this hub has ABI 1"), std::string::npos) << r.output;
}

TEST(PluginLoader, RefusesALibraryWithoutTheAbiSymbol) {
  CommandResult r =
      servePlugins(R"([{"name": "x", "library": ")" + plugin("missing_symbol_plugin") + R"("}])");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("does not export dx_plugin_abi()"), std::string::npos) << r.output;
}

TEST(PluginLoader, RefusesUnknownAndIllTypedKeysNamingThem) {
  CommandResult r = servePlugins(probe(R"("mode": "deliver", "colour": "blue")"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("config.colour: unknown key for probe"), std::string::npos) << r.output;
  r = servePlugins(probe(R"("fail_first": "three")"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("config.fail_first: expected integer"), std::string::npos) << r.output;
  r = servePlugins(R"([{"name": "x", "library": "/nonexistent/libdx_x.so"}])");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("cannot load /nonexistent/libdx_x.so"), std::string::npos) << r.output;
}

TEST(PluginLoader, AConnectorWhoseStartThrowsStopsStartUpWithItsMessage) {
  HubOptions options;
  options.pluginsJson = probe(R"("fail_start": true)");
  HubProcess hub(options);
  EXPECT_THROW(hub.start(), std::runtime_error);
  EXPECT_NE(hub.log().find("connector probe failed to start: probe was told to fail at start"),
            std::string::npos)
      << hub.log();
}

}  // namespace
}  // namespace dx::test
