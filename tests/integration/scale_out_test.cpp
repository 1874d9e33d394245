// Several hub instances on one PostgreSQL database (README "Operations: a state-level
// deployment"): two `dxhub serve` processes with the same config on different ports, load from
// the bench client (dx_load) spread over both, one instance killed with SIGKILL in the middle
// of it and started again. Then every receipted message was delivered to the sink (the probe
// connector's record file, shared by both), duplicates at the sink are counted and reported,
// the audit log is still one chain, and no escalation was sent twice.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>

#include "hub_process.h"
#include "test_support.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// dx_load against one instance for `seconds`, in the background; join() waits for it (it is
// bounded by `timeout`, so it always ends).
class Load {
 public:
  Load(int port, double seconds, const std::string& receipted, const std::string& log) {
    const std::string pki = testPki();
    std::string cmd =
        "timeout 60 '" DX_BINARY_DIR "/dx_load' --url https://127.0.0.1:" + std::to_string(port) +
        " --ca '" + pki + "/ca.crt' --cert '" + pki + "/cc.samastipur.crt' --key '" + pki +
        "/cc.samastipur.key' --connections 4 --duration " + std::to_string(seconds) +
        " --presign 4000 --presign-seconds 3 --timeout 5 --quiet --receipted '" + receipted +
        "' >'" + log + "' 2>&1";
    thread_ = std::thread([cmd] { std::system(cmd.c_str()); });
  }
  ~Load() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

TEST(ScaleOutTest, TwoInstancesUnderLoadOneKilledDeliverEveryReceiptedMessageOnce) {
  if (!pgServerUrl()) GTEST_SKIP() << pgSkipReason();
  TestDatabase db("postgresql");
  const std::string tmp = Poco::TemporaryFile::tempName();
  const std::string record = tmp + "-sink.txt";
  for (const char* f : {"-sink.txt", "-a.ids", "-b.ids", "-a.log", "-b.log"})
    Poco::TemporaryFile::registerForDeletion(tmp + f);

  HubOptions options;
  options.storeUrl = db.url();
  options.leaseSeconds = 1;  // with the 2 s timeout: a dead instance's claims pass on after 3 s
  // bank.sbi's messages are delivered; bank.pnb's are rejected, so the hub escalates them.
  options.pluginsJson =
      R"([{"name": "probe", "library": ")" + std::string(DX_BINARY_DIR) +
      R"(/test-plugins/libdx_probe_connector.so", "serves": ["bank.sbi", "bank.pnb"],)"
      R"( "types": ["freeze.request"], "delivery": {"initial_backoff_ms": 50,)"
      R"( "max_backoff_ms": 200, "timeout_ms": 2000}, "config": {"record": ")" +
      record + R"(", "reject_to": "bank.pnb"}}])";
  HubProcess a(options), b(options);
  a.start();
  b.start();

  // Load on both; a few messages that will be rejected (and escalated) on both as well.
  auto started = std::chrono::steady_clock::now();
  Load loadA(a.port(), 6, tmp + "-a.ids", tmp + "-a.log");
  Load loadB(b.port(), 6, tmp + "-b.ids", tmp + "-b.log");
  std::set<std::string> rejected;
  for (int i = 0; i < 10; ++i) {
    HubProcess& hub = i % 2 ? b : a;
    std::string payload = envelope("freeze.request", "cc.samastipur", "bank.pnb",
                                   liveExample("freeze.request"), {}, "31509260012345");
    Response r = Client::as(hub.port(), "cc.samastipur")
                     .post("/v1/messages", signer("cc.samastipur").sign(payload));
    ASSERT_EQ(r.status, 202) << r;
    rejected.insert(verified("cc.samastipur", payload).id().data());
  }
  // Presigning takes up to 3 s; then kill A in the middle of its load, and start it again.
  std::this_thread::sleep_until(started + 5s);
  a.kill();
  std::this_thread::sleep_for(500ms);
  a.start();
  loadA.join();
  loadB.join();

  std::vector<std::string> receipted = lines(tmp + "-a.ids");
  std::vector<std::string> receiptedB = lines(tmp + "-b.ids");
  ASSERT_GT(receipted.size(), 50u) << "too little load reached instance A:\n"
                                   << lines(tmp + "-a.log").size() << " lines of dx_load output";
  ASSERT_GT(receiptedB.size(), 50u);
  receipted.insert(receipted.end(), receiptedB.begin(), receiptedB.end());

  // Every delivery settles (the killed instance's claims pass to the other when they expire).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  std::int64_t pending = 0;
  do {
    std::this_thread::sleep_for(200ms);
    pending = db.queryInt(
        "SELECT COUNT(*) FROM messages WHERE connector <> '' AND state IN ('accepted', "
        "'delivering')");
  } while (pending > 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(pending, 0) << "deliveries still pending after 30 s";

  std::map<std::string, int> atSink;
  for (const std::string& line : lines(record)) ++atSink[line.substr(0, line.find(' '))];
  int missing = 0, duplicates = 0;
  for (const std::string& id : receipted) {
    auto it = atSink.find(id);
    if (it == atSink.end())
      ++missing;
    else
      duplicates += it->second - 1;
  }
  EXPECT_EQ(missing, 0) << "receipted messages never delivered to the sink";
  EXPECT_EQ(db.queryInt("SELECT COUNT(*) FROM messages WHERE type = 'freeze.request' AND"
                        " recipient = 'bank.sbi' AND state <> 'delivered'"),
            0);
  // At-least-once is allowed across a SIGKILL (an attempt whose outcome was not yet written is
  // made again by the instance that takes it over): counted and reported, target 0.
  std::cout << "scale-out: " << receipted.size() << " receipted, " << missing << " not delivered, "
            << duplicates << " duplicate deliveries at the sink\n";
  RecordProperty("receipted", static_cast<int>(receipted.size()));
  RecordProperty("sink_duplicates", duplicates);

  // The audit log is one chain, whichever instance wrote each entry.
  CommandResult verify = b.runCommand({"audit", "verify", "--config", b.configPath()});
  EXPECT_EQ(verify.exitCode, 0) << verify.output;

  // Every rejected message is dead with at most one escalation (the id is derived from the
  // message, so two instances cannot send two).
  EXPECT_EQ(db.queryInt("SELECT COUNT(*) FROM (SELECT ref FROM messages WHERE type ="
                        " 'hub.escalation' GROUP BY ref HAVING COUNT(*) > 1) AS doubled"),
            0);
  // And none is missing: one made dead just before the SIGKILL gets its escalation from a sweep
  // (A's at its restart, or B's, every lease).
  std::int64_t escalations = 0;
  for (int i = 0; i < 50; ++i) {
    escalations = db.queryInt("SELECT COUNT(*) FROM messages WHERE type = 'hub.escalation'");
    if (escalations >= static_cast<std::int64_t>(rejected.size())) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(escalations, static_cast<std::int64_t>(rejected.size()));
  if (HasFailure()) std::cerr << "---- instance A ----\n" << a.log() << "---- B ----\n" << b.log();
}

}  // namespace
}  // namespace dx::test
