// dx_sig_bound (bench/sig_bound.cpp), the bound `make bench` sets the hub against, must do the
// work it stands for: verify each message as the hub does and answer with a receipt signed by
// the hub's key. A bound that skipped the check would make the hub look slower than it is.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "child_process.h"
#include "clock.h"
#include "hub_process.h"
#include "jws.h"
#include "receipt.h"
#include "test_support.h"

namespace dx::test {
namespace {

TEST(SigBoundTest, ReceiptsAVerifiedMessageAndRefusesATamperedOne) {
  const std::string program = DX_BINARY_DIR "/dx_sig_bound";
  if (access(program.c_str(), X_OK) != 0)
    GTEST_SKIP() << program << " is not built (bench/ is built where Google Benchmark is found)";
  initClientTls();
  HubProcess hub;  // not started: its config names the test PKI's keys and participants
  const int port = freeLoopbackPort();
  ChildProcess bound(
      program, {"--config", hub.configPath(), "--listen", "127.0.0.1:" + std::to_string(port)},
      hub.dir() + "/sig_bound.log");
  Client client = Client::as(port, "cc.samastipur");
  Response health;
  for (int i = 0; i < 150 && health.status != 200 && bound.running(); ++i) {
    health = client.get("/healthz");
    if (health.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(health.status, 200) << health;

  std::string jws = signer("cc.samastipur")
                        .sign(envelope("freeze.request", "cc.samastipur", "bank.sbi",
                                       liveExample("freeze.request")));
  auto message = verifyJws(jws, registry(), SystemClock::instance().unixSeconds());
  ASSERT_TRUE(message);
  Response answer = client.post("/v1/messages", jws);
  ASSERT_EQ(answer.status, 202) << answer;
  std::string why;
  Certificate hubCert = Certificate::fromPemFile(testPki() + "/hub.samastipur.crt");
  EXPECT_TRUE(checkReceipt(answer.body, hubCert, message.value().id(), message.value().digest, why))
      << why;

  // One byte of the signature changed: the Ed25519 verify fails, and there is no receipt.
  std::size_t at = jws.find("\"signature\":\"") + 13;
  jws[at] = jws[at] == 'A' ? 'B' : 'A';
  Response refused = client.post("/v1/messages", jws);
  EXPECT_EQ(refused.status, 401) << refused;
  EXPECT_EQ(refused.body, "bad_signature");

  EXPECT_EQ(bound.stop(), 0);  // SIGTERM: it stops and exits 0
}

}  // namespace
}  // namespace dx::test
