// dxhub sign: make a signed message (JWS) from a body file, as the holder of a key.
#include <iostream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "jws.h"
#include "strict_json.h"

namespace dx::cli {

namespace {
constexpr const char* kUsage =
    R"(usage: dxhub sign --key KEY.pem --cert CERT.pem --type TYPE --to ID
                  [--ref ID] [--case CASE] [--id UUID] [--created TIME] BODY.json

Prints a signed message (JWS, flattened JSON) on stdout: a fresh UUID, the current time,
`from` and `kid` taken from the certificate (SAN urn:dx:participant:<id>), and x5t#S256.
BODY.json is the message's `body` object (see config/schemas/TYPE.json).
)";
}  // namespace

int signCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"key", "cert", "type", "to", "ref", "case", "id", "created"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("give exactly one BODY.json (see --help)");
  Signer signer = Signer::fromFiles(args.require("key"), args.require("cert"));

  rapidjson::Document body;
  std::string text = readFile(args.positional[0]);
  if (JsonError e = parseStrict(text, body))
    throw std::runtime_error(args.positional[0] + ": " + e.message());
  if (!body.IsObject())
    throw std::runtime_error(args.positional[0] + ": body must be a JSON object");

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto field = [&](const char* name, const std::string& value) {
    w.Key(name);
    w.String(value);
  };
  w.StartObject();
  field("id", args.get("id", newUuid()));
  field("type", args.require("type"));
  field("from", signer.participantId());
  field("to", args.require("to"));
  field("created", args.get("created", formatRfc3339(SystemClock::instance().unixSeconds())));
  if (args.has("ref")) field("ref", args.get("ref"));
  if (args.has("case")) field("case", args.get("case"));
  w.Key("body");
  body.Accept(w);
  w.EndObject();
  std::cout << signer.sign({buf.GetString(), buf.GetSize()}) << "\n";
  return 0;
}

}  // namespace dx::cli
