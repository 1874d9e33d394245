// dxhub send: post a signed message to a hub over mutual TLS and check the receipt.
#include <iostream>

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "base64url.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "jws.h"
#include "receipt.h"
#include "strict_json.h"
#include "tls.h"

namespace dx::cli {

namespace {

constexpr const char* kUsage = R"(usage: dxhub send --config FILE --as ID MESSAGE.jws
       dxhub send --url https://HOST:PORT --cert CERT --key KEY --ca CA.crt MESSAGE.jws

Posts a signed message to the hub's POST /v1/messages as participant ID (its certificate and key
from the config's PKI folder), over mutual TLS. Checks the receipt: signed by the hub's
certificate (the one its TLS server presented, chained to the CA), for this message, with the
digest of what was sent. Prints the receipt's envelope and exits 0; a refusal prints the
problem's status, code and detail and exits 1. Use - for MESSAGE.jws to read standard input.
)";

std::string pretty(const std::string& json) {
  rapidjson::Document doc;
  if (parseStrict(json, doc)) return json;
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  doc.Accept(w);
  return buf.GetString();
}

}  // namespace

int sendCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config", "as", "url", "cert", "key", "ca", "crl"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("give exactly one MESSAGE.jws (see --help)");
  TlsFiles tls;
  std::string url;
  if (args.has("config")) {
    HubConfig config = loadConfig(args.get("config"));
    std::string as = args.require("as");
    if (!config.findParticipant(as))
      throw UsageError("--as " + as + " is not a participant of the config");
    tls = {config.pkiDir + "/" + as + ".crt", config.pkiDir + "/" + as + ".key", config.caPath,
           config.crlPath};
    url = "https://" + config.listen;
  }
  if (args.has("url")) url = args.get("url");
  if (args.has("cert")) tls.cert = args.get("cert");
  if (args.has("key")) tls.key = args.get("key");
  if (args.has("ca")) tls.ca = args.get("ca");
  if (args.has("crl")) tls.crl = args.get("crl");
  if (url.empty() || tls.cert.empty() || tls.key.empty() || tls.ca.empty())
    throw UsageError("give --config and --as, or --url, --cert, --key and --ca (see --help)");

  const std::string& file = args.positional[0];
  std::string jws =
      file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : readFile(file);
  while (!jws.empty() && (jws.back() == '\n' || jws.back() == '\r')) jws.pop_back();
  Expected<JwsParts> parts = splitJws(jws, {});
  if (!parts) throw std::runtime_error(file + " is not a JWS: " + parts.problem().detail);
  rapidjson::Document envelope;
  parseStrict(parts->payload, envelope);
  std::string id = envelope.IsObject() && envelope.HasMember("id") && envelope["id"].IsString()
                       ? envelope["id"].GetString()
                       : "";
  std::string digest = hexLower(sha256(parts->signingInput));

  Poco::URI uri(url);
  Poco::Net::HTTPSClientSession session(uri.getHost(), uri.getPort(), makeClientContext(tls));
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/v1/messages",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/jose+json");
  request.setContentLength64(static_cast<Poco::Int64>(jws.size()));
  session.sendRequest(request) << jws;
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  int status = response.getStatus();

  if (status != 200 && status != 202) {
    rapidjson::Document problem;
    std::string code = "?", detail = body.substr(0, 300);
    if (!parseStrict(body, problem) && problem.IsObject()) {
      if (problem.HasMember("code") && problem["code"].IsString())
        code = problem["code"].GetString();
      if (problem.HasMember("detail") && problem["detail"].IsString())
        detail = problem["detail"].GetString();
    }
    std::cerr << "dxhub send: refused " << status << " " << code << ": " << detail << "\n";
    return 1;
  }
  Certificate hub(X509_dup(const_cast<X509*>(session.serverCertificate().certificate())));
  std::string why;
  std::optional<ReceiptFacts> facts = checkReceipt(body, hub, id, digest, why);
  if (!facts) {
    std::cerr << "dxhub send: the hub answered " << status
              << " but its receipt is not valid: " << why << "\n";
    return 1;
  }
  Expected<JwsParts> receipt = splitJws(body, {});
  std::cout << pretty(receipt->payload) << "\n";
  std::cerr << "dxhub send: " << (status == 202 ? "accepted" : "already accepted (same receipt)")
            << " by " << facts->hubId << " at " << facts->acceptedAt << ", audit entry "
            << facts->auditSeq << "\n";
  return 0;
}

}  // namespace dx::cli
