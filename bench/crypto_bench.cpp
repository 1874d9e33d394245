// Micro-benchmarks of the foundation: sign and verify (Ed25519, ES256) and the strict parse +
// schema validation of a realistic 1 KiB freeze.request. bench/run.sh compares the signature
// rates with `openssl speed` measured in the same run.
#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "jws.h"
#include "message_validator.h"
#include "strict_json.h"

namespace {

std::string pki() {
  const char* dir = std::getenv("DX_BENCH_PKI");
  return dir ? dir : std::string(DX_SOURCE_DIR) + "/var/pki";
}

dx::PkeyPtr key(const char* who) {
  return dx::loadPrivateKey(pki() + "/" + who + ".key");
}

// The raw primitive over a JWS-sized signing input, as `openssl speed` measures it.
void signRaw(benchmark::State& state, const char* who) {
  dx::PkeyPtr k = key(who);
  std::string input(64, 'a');  // a short input, as `openssl speed` signs
  for (auto _ : state) benchmark::DoNotOptimize(dx::signBytes(k.get(), input));
  state.SetItemsProcessed(state.iterations());
}

void verifyRaw(benchmark::State& state, const char* who, dx::JwsAlg alg) {
  dx::PkeyPtr k = key(who);
  std::string input(64, 'a');  // a short input, as `openssl speed` signs
  std::string sig = dx::signBytes(k.get(), input);
  for (auto _ : state) benchmark::DoNotOptimize(dx::verifyBytes(alg, k.get(), input, sig));
  state.SetItemsProcessed(state.iterations());
}

std::string freezeRequest() {
  std::string body = dx::readFile(std::string(DX_SOURCE_DIR) + "/sim/samples/freeze.request.json");
  return R"({"id":")" + dx::newUuid() +
         R"(","type":"freeze.request","from":"cc.samastipur","to":"bank.sbi","created":")" +
         dx::formatRfc3339(dx::SystemClock::instance().unixSeconds()) +
         R"(","case":"31509260012345","body":)" + body + "}";
}

void BM_ParseAndValidateFreezeRequest(benchmark::State& state) {
  dx::MessageValidator validator(std::string(DX_SOURCE_DIR) + "/config/schemas");
  std::string text = freezeRequest();
  for (auto _ : state) {
    rapidjson::Document doc;
    if (dx::parseStrict(text, doc) || validator.validate(doc)) state.SkipWithError("invalid");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

}  // namespace

BENCHMARK_CAPTURE(signRaw, ed25519, "cc.samastipur");
BENCHMARK_CAPTURE(signRaw, es256, "bank.hdfc");
BENCHMARK_CAPTURE(verifyRaw, ed25519, "cc.samastipur", dx::JwsAlg::Ed25519);
BENCHMARK_CAPTURE(verifyRaw, es256, "bank.hdfc", dx::JwsAlg::ES256);
BENCHMARK(BM_ParseAndValidateFreezeRequest);
BENCHMARK_MAIN();
