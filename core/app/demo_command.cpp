// dxhub demo: the Samastipur story on the embedded default. Until the hub service lands this is
// the foundation's part of it: each party signs its message, the hub's checks verify it, and
// forged or unsafe messages are refused with the reason a user would see.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base64url.h"
#include "certificate.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "jws.h"
#include "message_validator.h"
#include "registry.h"
#include "strict_json.h"

namespace dx::cli {

namespace {

constexpr const char* kUsage = R"(usage: dxhub demo [--config FILE] [--samples DIR]

Signs one message of every type as the office that sends it (keys from the dev PKI named by the
config, default config/dxhub.json), checks each as the hub does, and shows three refusals: a
tampered payload, a plain Aadhaar number in free text, and money written as a JSON number.
Run `make demo`, which makes the dev PKI first.
)";

struct Step {
  const char* type;
  const char* from;
  const char* to;
  const char* sample;  // file in the samples folder
  bool needsCase;
};

constexpr Step kSteps[] = {
    {"station.record", "ps.samastipur.mufassil", "cc.samastipur", "station.record.json", false},
    {"freeze.request", "cc.samastipur", "bank.sbi", "freeze.request.json", true},
    {"freeze.response", "bank.sbi", "cc.samastipur", "freeze.response.json", true},
    {"freeze.release", "cc.samastipur", "bank.sbi", "freeze.release.json", true},
    {"notice.awareness", "sp.samastipur", "dm.samastipur", "notice.awareness.json", false},
    {"notice.ack", "dm.samastipur", "sp.samastipur", "notice.ack.json", false},
};

std::string envelope(const Step& step, const std::string& ref, const rapidjson::Value& body) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("id");
  w.String(newUuid());
  w.Key("type");
  w.String(step.type);
  w.Key("from");
  w.String(step.from);
  w.Key("to");
  w.String(step.to);
  w.Key("created");
  w.String(formatRfc3339(SystemClock::instance().unixSeconds()));
  if (!ref.empty()) {
    w.Key("ref");
    w.String(ref);
  }
  if (step.needsCase) {
    w.Key("case");
    w.String("31509260012345");
  }
  w.Key("body");
  body.Accept(w);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

int demoCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config", "samples"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  HubConfig config = loadConfig(args.get("config", "config/dxhub.json"));
  std::string samples = args.get("samples", "sim/samples");
  TrustStore trust(config.caPath, config.crlPath);
  Registry registry(config, trust);
  MessageValidator validator(config.schemaDir);
  auto check = [&](const std::string& jws) -> std::optional<Problem> {
    Expected<VerifiedMessage> msg = verifyJws(jws, registry, SystemClock::instance().unixSeconds());
    if (!msg) return msg.problem();
    return validator.validate(msg->envelope);
  };
  using Clock = std::chrono::steady_clock;
  auto micros = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
  };

  std::printf("dxhub demo: every party signs, the hub checks (district %s, PKI %s)\n\n",
              config.district.c_str(), config.pkiDir.c_str());
  std::printf("%-18s %-24s    %-24s %-10s %9s %9s\n", "type", "from", "to", "outcome", "sign µs",
              "check µs");
  int failures = 0;
  std::string lastRequestId, lastNoticeId, tamperTarget;
  for (const Step& step : kSteps) {
    rapidjson::Document body;
    if (JsonError e = parseStrict(readFile(samples + "/" + step.sample), body))
      throw std::runtime_error(samples + "/" + step.sample + ": " + e.message());
    Signer signer = Signer::fromFiles(config.pkiDir + "/" + step.from + ".key",
                                      config.pkiDir + "/" + step.from + ".crt");
    std::string ref;
    std::string_view type = step.type;
    if (type == "freeze.response" || type == "freeze.release") ref = lastRequestId;
    if (type == "notice.ack") ref = lastNoticeId;
    std::string payload = envelope(step, ref, body);
    auto t0 = Clock::now();
    std::string jws = signer.sign(payload);
    auto t1 = Clock::now();
    std::optional<Problem> problem = check(jws);
    auto t2 = Clock::now();
    if (problem) ++failures;
    if (type == "freeze.request")
      lastRequestId = verifyJws(jws, registry, SystemClock::instance().unixSeconds())->id();
    if (type == "notice.awareness")
      lastNoticeId = verifyJws(jws, registry, SystemClock::instance().unixSeconds())->id();
    if (type == "freeze.response") tamperTarget = jws;
    std::printf("%-18s %-24s -> %-24s %-10s %9lld %9lld\n", step.type, step.from, step.to,
                problem ? problem->code.c_str() : "valid", static_cast<long long>(micros(t0, t1)),
                static_cast<long long>(micros(t1, t2)));
  }

  std::printf("\nand what the hub refuses:\n");
  auto refuse = [&](const char* what, const std::string& jws, const char* expected) {
    std::optional<Problem> problem = check(jws);
    bool right = problem && problem->code == expected;
    if (!right) ++failures;
    std::printf("  %-44s -> %s: %s\n", what, problem ? problem->code.c_str() : "ACCEPTED (wrong)",
                problem ? problem->detail.c_str() : "");
  };
  // Tamper: a bank's response with the held amount changed after signing.
  {
    std::string forged = tamperTarget;
    auto p = forged.find("\"payload\":\"") + 11;
    auto e = forged.find('"', p);
    std::string payload = *base64urlDecode(forged.substr(p, e - p));
    payload.replace(payload.find("12000.00"), 8, "42000.00");
    forged.replace(p, e - p, base64urlEncode(payload));
    refuse("bank response with held amount altered", forged, "bad_signature");
  }
  Signer bank = Signer::fromFiles(config.pkiDir + "/bank.sbi.key", config.pkiDir + "/bank.sbi.crt");
  auto variant = [&](const char* from, const char* to) {
    rapidjson::Document body;
    parseStrict(readFile(samples + "/freeze.response.json"), body);
    return std::make_pair(std::move(body), Step{"freeze.response", from, to, "", true});
  };
  {
    auto [body, step] = variant("bank.sbi", "cc.samastipur");
    body["remarks"].SetString("Holder gave Aadhaar 2345 6789 0124 at the branch",
                              body.GetAllocator());
    refuse("plain Aadhaar number in remarks", bank.sign(envelope(step, lastRequestId, body)),
           "pii_aadhaar");
  }
  {
    auto [body, step] = variant("bank.sbi", "cc.samastipur");
    body["held_amount"].SetDouble(12000.0);
    refuse("held amount written as a JSON number", bank.sign(envelope(step, lastRequestId, body)),
           "schema");
  }
  std::printf("\n%s\n", failures ? "demo FAILED: a step did not come out as it should"
                                 : "demo ok: every message verified, every forgery refused");
  return failures ? 1 : 0;
}

}  // namespace dx::cli
