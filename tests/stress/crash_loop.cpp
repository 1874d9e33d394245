// dx_stress crash-loop: the real `dxhub serve` under load, killed with SIGKILL at random moments
// and restarted each time; then a total-queue check in the manner of Jepsen's: every message
// the hub gave a receipt for is stored (same digest) and reached the sink connector (lost = 0);
// deliveries beyond the first are counted as duplicates (delivery is at least once); nothing
// reaches the sink that was never sent; `dxhub audit verify` passes.
//
// The load is this driver's own: 8 keep-alive mutual-TLS clients, each posting signed
// freeze.requests one after another and recording every receipt. A request that gets no answer
// (the hub died under it) is sent again, as the same message, until it is receipted — what a
// real client does; the hub answers a repeat with the original receipt. The sink is the probe
// connector (tests/integration/plugins), which appends one line per deliver() call to a file.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <Poco/TemporaryFile.h>

#include "drivers.h"
#include "stress_support.h"

namespace dx::stress {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr int kClients = 8;

struct Ledger {
  std::mutex mutex;
  std::map<std::string, std::string> receipted;  // id -> digest named by its receipt
  std::set<std::string> sent;                    // every id ever posted
  std::atomic<std::int64_t> unanswered{0};       // requests that got no answer (retried)
  std::atomic<std::int64_t> busy{0};             // 503 answers (retried)
  std::atomic<std::int64_t> repeats{0};          // a retry answered 200: it was stored already
  std::vector<std::string> refusals;             // anything else: a bug
};

// One client: posts until `stop`, then finishes the message in hand (until it is receipted or
// `giveUpAt` passes).
void client(int index, const int port, std::atomic<bool>& stop, Ledger& ledger,
            std::atomic<Steady::time_point>& giveUpAt) {
  test::Client c = test::Client::as(port, "cc.samastipur");
  c.setTimeout(10s);
  const std::string to = index % 2 ? "bank.pnb" : "bank.sbi";
  while (!stop) {
    Outgoing m = freezeRequest(to);
    {
      std::lock_guard lock(ledger.mutex);
      ledger.sent.insert(m.id);
    }
    bool retried = false;
    for (;;) {
      PostOutcome o = post(c, m);
      if (o.receipted) {
        std::lock_guard lock(ledger.mutex);
        ledger.receipted[m.id] = o.digest;
        if (retried && o.status == 200) ++ledger.repeats;
        break;
      }
      if (o.status == 0) {
        ++ledger.unanswered;
      } else if (o.status == 503) {
        ++ledger.busy;
      } else {
        std::lock_guard lock(ledger.mutex);
        ledger.refusals.push_back(m.id + ": HTTP " + std::to_string(o.status) + " " + o.code);
        break;
      }
      retried = true;
      if (stop && Steady::now() > giveUpAt.load()) return;
      std::this_thread::sleep_for(20ms);
    }
  }
}

// id -> number of deliver() calls, from the probe's record file ("<id> <attempt>" lines).
std::map<std::string, int> sinkCalls(const std::string& path) {
  std::map<std::string, int> calls;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string id;
    int attempt = 0;
    if (words >> id >> attempt && id.size() == 36) ++calls[id];
  }
  return calls;
}

}  // namespace

int crashLoop(int argc, char** argv) {
  Flags flags(argc, argv, {"--kills", "--seed"});
  const int kills = static_cast<int>(flags.number("--kills", 30));
  const auto seed = static_cast<unsigned>(flags.number("--seed", std::random_device{}()));
  std::mt19937 random(seed);
  std::cout << "crash-loop: " << kills << " kills, seed " << seed << std::endl;

  Report report("crash_loop",
                "Under load, the hub is killed with SIGKILL at random moments and restarted. "
                "Every message it gave a receipt for is stored with the receipted digest and "
                "delivered to the sink at least once (lost = 0); nothing unsent reaches the sink; "
                "the audit chain verifies.");

  const std::string sink = Poco::TemporaryFile::tempName() + "-sink.txt";
  if (const char* keep = std::getenv("DX_KEEP_TEST_DIRS"); keep && *keep)
    std::cout << "crash-loop: the sink's record is kept: " << sink << std::endl;
  else
    Poco::TemporaryFile::registerForDeletion(sink);
  test::HubOptions options;
  options.pluginsJson = R"([{"name": "probe", "library": ")" + pluginPath("probe_connector") +
                        R"(", "serves": ["bank.sbi", "bank.pnb"], "types": ["freeze.request"],
      "delivery": {"initial_backoff_ms": 50, "max_backoff_ms": 200},
      "config": {"mode": "deliver", "record": ")" +
                        sink + R"("}}])";
  test::HubProcess hub(options);
  hub.start();

  Ledger ledger;
  std::atomic<bool> stop{false};
  std::atomic<Steady::time_point> giveUpAt{Steady::time_point::max()};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back(client, i, hub.port(), std::ref(stop), std::ref(ledger),
                         std::ref(giveUpAt));

  const auto started = Steady::now();
  std::uniform_int_distribution<int> upFor(150, 1500), downFor(0, 200);
  int survived = 0;
  std::vector<double> restartMs;
  for (int k = 1; k <= kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(upFor(random)));
    hub.kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(downFor(random)));
    auto t = Steady::now();
    try {
      hub.start();
    } catch (const std::exception& e) {
      report.check(false, "restart after kill " + std::to_string(k) + ": " + e.what());
      break;
    }
    restartMs.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t).count());
    ++survived;
    std::lock_guard lock(ledger.mutex);
    std::cout << "kill " << k << ": " << ledger.receipted.size() << " receipted so far"
              << std::endl;
  }
  // Load for a moment on the last incarnation, then let each client finish its message.
  std::this_thread::sleep_for(1s);
  giveUpAt = Steady::now() + 30s;
  stop = true;
  for (auto& t : clients) t.join();
  const double loadSeconds = std::chrono::duration<double>(Steady::now() - started).count();

  // Everything receipted must reach the sink; wait (up to 60 s) for the deliveries to settle.
  std::map<std::string, std::string> receipted;
  std::set<std::string> sent;
  {
    std::lock_guard lock(ledger.mutex);
    receipted = ledger.receipted;
    sent = ledger.sent;
  }
  auto deadline = Steady::now() + 60s;
  std::map<std::string, int> calls;
  for (;;) {
    calls = sinkCalls(sink);
    std::size_t missing = 0;
    for (const auto& [id, digest] : receipted) missing += calls.count(id) ? 0 : 1;
    if (missing == 0 || Steady::now() > deadline) break;
    std::this_thread::sleep_for(200ms);
  }

  // Stored: each receipted message is there with the receipted digest, and (once its outcome
  // is written, a moment after the sink saw it) in state delivered.
  test::Client reader = test::Client::as(hub.port(), "cc.samastipur");
  std::int64_t notStored = 0, wrongDigest = 0, notDelivered = 0;
  std::vector<std::string> pending;
  for (const auto& [id, digest] : receipted) {
    Stored s = stored(reader, id);
    if (s.status != 200) {
      if (++notStored <= 5) std::cerr << "not stored: " << id << " (HTTP " << s.status << ")\n";
    } else if (s.digest != digest) {
      ++wrongDigest;
    } else if (s.state != "delivered") {
      pending.push_back(id);
    }
  }
  deadline = Steady::now() + 20s;
  while (!pending.empty() && Steady::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    std::erase_if(pending,
                  [&](const std::string& id) { return stored(reader, id).state == "delivered"; });
  }
  notDelivered = static_cast<std::int64_t>(pending.size());
  std::int64_t lost = 0, duplicates = 0, unexpected = 0;
  for (const auto& [id, digest] : receipted)
    if (!calls.count(id)) ++lost;
  for (const auto& [id, n] : calls) {
    duplicates += n - 1;
    if (!sent.count(id)) ++unexpected;
  }
  int stopStatus = hub.stop();
  test::CommandResult audit = hub.runCommand({"audit", "verify", "--config", hub.configPath()});

  report.check(survived == kills, "the hub restarted after every kill");
  report.check(ledger.refusals.empty(),
               "no refusal of a valid message (" + std::to_string(ledger.refusals.size()) +
                   ", first: " + (ledger.refusals.empty() ? "" : ledger.refusals[0]) + ")");
  report.check(receipted.size() == sent.size(), "every message sent was receipted in the end (" +
                                                    std::to_string(receipted.size()) + " of " +
                                                    std::to_string(sent.size()) + ")");
  report.check(receipted.size() >= static_cast<std::size_t>(kills) * 10,
               "the load was real: at least 10 receipts per kill");
  report.check(notStored == 0,
               "every receipted message is stored (" + std::to_string(notStored) + " not)");
  report.check(wrongDigest == 0,
               "stored digests equal the receipts' (" + std::to_string(wrongDigest) + " differ)");
  report.check(notDelivered == 0, "every receipted message is in state delivered (" +
                                      std::to_string(notDelivered) + " not)");
  report.check(lost == 0, "lost = 0 (" + std::to_string(lost) + ")");
  report.check(unexpected == 0,
               "nothing unsent reached the sink (" + std::to_string(unexpected) + ")");
  report.check(stopStatus == 0, "the last incarnation stops cleanly on SIGTERM (status " +
                                    std::to_string(stopStatus) + ")");
  report.check(audit.exitCode == 0, "dxhub audit verify passes: " + audit.output);

  report.figure("kills", kills);
  report.figure("kills_survived", survived);
  report.figure("seed", std::to_string(seed));
  report.figure("load_seconds", loadSeconds);
  report.figure("messages_sent", static_cast<double>(sent.size()));
  report.figure("receipted", static_cast<double>(receipted.size()));
  report.figure("lost", static_cast<double>(lost));
  report.figure("duplicated_at_sink", static_cast<double>(duplicates));
  report.figure("unexpected_at_sink", static_cast<double>(unexpected));
  report.figure("attempts_without_answer_retried", static_cast<double>(ledger.unanswered));
  report.figure("stored_before_kill_answer_lost_then_200", static_cast<double>(ledger.repeats));
  report.figure("busy_503", static_cast<double>(ledger.busy));
  report.figure("restart_ms_p50", percentile(restartMs, 50));
  report.figure("restart_ms_max", percentile(restartMs, 100));
  std::string head = audit.output.substr(0, audit.output.find('\n'));
  report.figure("audit_verify", head);
  return report.finish(flags.figures());
}

}  // namespace dx::stress
