// The journal alone (DESIGN §10: "commits must be grouped"): 32 threads hand verified
// freeze.requests to one Journal over SQLite in a temporary folder, as the hub's request
// threads do, and wait for each receipt. What it costs per message to store, chain, sign the
// receipt and fsync, without TLS or signature verification; bench/run.sh reports it.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "journal.h"
#include "jws.h"
#include "metrics.h"
#include "registry.h"
#include "store.h"

namespace {

constexpr int kThreads = 32;
constexpr int kPerThread = 400;

struct JournalRig {
  dx::HubConfig config = dx::loadConfig(std::string(DX_SOURCE_DIR) + "/config/dxhub.json");
  dx::TrustStore trust{config.caPath, config.crlPath};
  dx::Registry registry{config, trust};
  dx::Signer hub = dx::Signer::fromFiles(config.pkiDir + "/hub.samastipur.key",
                                         config.pkiDir + "/hub.samastipur.crt");
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("dx-journal-bench-" + dx::newUuid());
  std::unique_ptr<dx::Store> store;
  dx::Metrics metrics;
  std::unique_ptr<dx::Journal> journal;
  std::vector<dx::VerifiedMessage> messages;
  std::atomic<std::size_t> next{0};

  JournalRig() {
    std::filesystem::create_directories(dir);
    store = dx::openStore("sqlite:" + (dir / "hub.db").string());
    journal = std::make_unique<dx::Journal>(*store, hub, dx::SystemClock::instance(), metrics);
    dx::Signer cc = dx::Signer::fromFiles(config.pkiDir + "/cc.samastipur.key",
                                          config.pkiDir + "/cc.samastipur.crt");
    std::string body =
        dx::readFile(std::string(DX_SOURCE_DIR) + "/sim/samples/freeze.request.json");
    std::time_t now = dx::SystemClock::instance().unixSeconds();
    for (int i = 0; i < kThreads * kPerThread; ++i) {
      std::string payload = R"({"id":")" + dx::newUuid() +
                            R"(","type":"freeze.request","from":"cc.samastipur","to":"bank.sbi",)"
                            R"("created":")" +
                            dx::formatRfc3339(now) + R"(","case":"31509260012345","body":)" +
                            body + "}";
      dx::Expected<dx::VerifiedMessage> m = dx::verifyJws(cc.sign(payload), registry, now);
      if (!m) throw std::runtime_error("bench message does not verify: " + m.problem().detail);
      messages.push_back(std::move(m.value()));
    }
  }
  ~JournalRig() {
    journal.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

JournalRig* rig = nullptr;

void BM_JournalAccept(benchmark::State& state) {
  if (state.thread_index() == 0) rig = new JournalRig;
  for (auto _ : state) {
    const dx::VerifiedMessage& m = rig->messages[rig->next++];
    if (rig->journal->accept(m, "cc.samastipur").outcome != dx::Journal::Outcome::Accepted)
      state.SkipWithError("not accepted");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete rig;
    rig = nullptr;
  }
}
BENCHMARK(BM_JournalAccept)->Threads(kThreads)->Iterations(kPerThread)->UseRealTime();

}  // namespace
