// dx_sig_bound: the most any hub built on dxhub's HTTP stack could do on this machine. It serves
// POST /v1/messages over the hub's own TLS context and HTTP connection (http_connection.h), and
// for each message does only what every receipt needs: read the body, verify the JWS as the hub
// does (verifyJws: strict parse, registered key, chain, the Ed25519 signature), and answer 202
// with a receipt signed with the hub's P-256 key. No policy, no schema, no store, no fsync, no
// audit chain: its rate is the bound the signature ceiling leaves out (the HTTPS request), and
// `bench/load.sh` reports the hub against it. A benchmark tool only: it keeps nothing.
//
//   dx_sig_bound --config FILE --listen HOST:PORT
//
// Runs until SIGTERM or SIGINT. The hub's config gives its keys, trust anchors, participants
// and limits.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/StreamCopier.h>

#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "http_api.h"
#include "http_connection.h"
#include "jws.h"
#include "receipt.h"
#include "registry.h"
#include "tls.h"

namespace {

using Poco::Net::HTTPResponse;

// SIGTERM and SIGINT: blocked in every thread from the start of main(), taken by sigwait().
sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

struct Shared {
  dx::HubConfig config;
  std::unique_ptr<dx::TrustStore> trust;
  std::unique_ptr<dx::Registry> registry;
  std::unique_ptr<dx::Signer> hub;
  std::atomic<std::int64_t> seq{0};
};

void answer(Poco::Net::HTTPServerResponse& res, HTTPResponse::HTTPStatus status,
            const std::string& type, const std::string& body) {
  res.setStatus(status);
  res.setContentType(type);
  res.setContentLength(static_cast<std::streamsize>(body.size()));
  res.sendBuffer(body.data(), body.size());
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Shared& s) : s_(s) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& res) override {
    if (req.getMethod() == "GET" && req.getURI() == "/healthz")
      return answer(res, HTTPResponse::HTTP_OK, "text/plain", "ok\n");
    if (req.getMethod() != "POST" || req.getURI() != "/v1/messages")
      return answer(res, HTTPResponse::HTTP_NOT_FOUND, "text/plain", "not found\n");
    std::string body;
    body.reserve(static_cast<std::size_t>(std::max<Poco::Int64>(0, req.getContentLength64())));
    Poco::StreamCopier::copyToString(req.stream(), body);
    auto m = dx::verifyJws(body, *s_.registry, std::time(nullptr));
    if (!m) return answer(res, HTTPResponse::HTTP_UNAUTHORIZED, "text/plain", m.problem().code);
    // An audit-like hash and a receipt as the journal makes one: one SHA-256, one signature.
    std::int64_t seq = ++s_.seq;
    std::string hash = dx::hexLower(dx::sha256(m->digest + std::to_string(seq)));
    std::string receipt = s_.hub->sign(
        dx::receiptPayload(s_.hub->participantId(), m->from(), m->id(), m->digest,
                           dx::formatRfc3339Millis(dx::SystemClock::instance().now()), seq, hash));
    answer(res, HTTPResponse::HTTP_ACCEPTED, "application/jose+json", receipt);
  }

 private:
  Shared& s_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Shared& s) : s_(s) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(s_);
  }

 private:
  Shared& s_;
};

int run(const std::string& configPath, const std::string& listen) {
  Shared s{dx::loadConfig(configPath), {}, {}, {}, {}};
  s.trust = std::make_unique<dx::TrustStore>(s.config.caPath, s.config.crlPath);
  s.registry = std::make_unique<dx::Registry>(s.config, *s.trust);
  s.hub = std::make_unique<dx::Signer>(
      dx::Signer::fromFiles(s.config.hubKeyPath(), s.config.hubCertPath()));
  const dx::Limits& limits = s.config.limits;
  Poco::Net::SecureServerSocket socket(
      Poco::Net::SocketAddress(listen), 128,
      dx::makeServerContext(
          {s.config.hubCertPath(), s.config.hubKeyPath(), s.config.caPath, s.config.crlPath}));
  // The hub's server parameters and connection (http_api.cpp), without its pipeline.
  Poco::Net::HTTPServerParams::Ptr params = dx::httpServerParams(limits);
  Poco::ThreadPool threads(2, limits.maxConnections + 4, 60);
  dx::RequestDeadlines deadlines(std::chrono::seconds(limits.requestDeadlineS),
                                 std::chrono::milliseconds(100));
  dx::HeadLimits head{limits.maxHeaderFields, limits.maxHeaderBytes, limits.maxUriBytes};
  Poco::Net::TCPServer server(
      new dx::HttpConnectionFactory(params, new Factory(s), head, deadlines,
                                    [](const Poco::Net::SocketAddress&, const dx::HeadRefusal&) {}),
      threads, socket, params);
  server.start();
  std::cout << "dx_sig_bound: listening on " << listen << std::endl;
  int signal = 0;
  const sigset_t stop = stopSignals();
  sigwait(&stop, &signal);
  server.stop();
  deadlines.stopAll();
  threads.joinAll();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "--config" || std::string(argv[3]) != "--listen") {
    std::cerr << "usage: dx_sig_bound --config FILE --listen HOST:PORT\n";
    return 2;
  }
  const sigset_t stop = stopSignals();  // before any thread starts: all of them inherit it
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  try {
    return run(argv[2], argv[4]);
  } catch (const Poco::Exception& e) {
    std::cerr << "dx_sig_bound: " << e.displayText() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "dx_sig_bound: " << e.what() << "\n";
  }
  return 1;
}
