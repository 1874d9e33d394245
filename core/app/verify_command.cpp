// dxhub verify: check a signed message the way the hub would, without a database.
#include <iostream>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "certificate.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "jws.h"
#include "message_validator.h"
#include "registry.h"

namespace dx::cli {

namespace {
constexpr const char* kUsage = R"(usage: dxhub verify --config FILE MESSAGE.jws

Checks everything that needs no database: the JWS form and header rules, the signer's registered
certificate (chain to the CA, revocation list, validity), the signature, the schema of the
message type, and the domain rules (formats, no plain Aadhaar number in free text). Prints the
envelope as pretty JSON and exits 0, or prints one line with the reason and exits 1.
Use - for MESSAGE.jws to read standard input.
)";
}  // namespace

int verifyCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("give exactly one MESSAGE.jws (see --help)");
  HubConfig config = loadConfig(args.require("config"));
  TrustStore trust(config.caPath, config.crlPath);
  Registry registry(config, trust);
  MessageValidator validator(config.schemaDir);

  const std::string& file = args.positional[0];
  std::string text =
      file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : readFile(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();

  JsonLimits limits;
  limits.maxBytes = config.limits.maxBodyBytes;
  Expected<VerifiedMessage> msg =
      verifyJws(text, registry, SystemClock::instance().unixSeconds(), limits);
  std::optional<Problem> problem;
  if (!msg)
    problem = msg.problem();
  else
    problem = validator.validate(msg->envelope);
  if (problem) {
    std::cerr << "dxhub verify: refused (" << problem->code << "): " << problem->detail << "\n";
    return 1;
  }
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  msg->envelope.Accept(w);
  std::cout << buf.GetString() << "\n";
  std::cerr << "dxhub verify: valid: " << msg->type() << " from " << msg->from() << " to "
            << msg->to() << ", signed with " << msg->key->cert.thumbprint() << "\n";
  return 0;
}

}  // namespace dx::cli
