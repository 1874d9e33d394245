// dx_load: the load generator of `make bench` (DESIGN §10). Many keep-alive mutual-TLS
// connections post pre-signed freeze.requests to a running hub (or loop on GET /healthz for the
// HTTP stack's own ceiling) and report receipted messages per second and latency percentiles.
//
// Every message is signed before the clock starts, so the client's signing never competes with
// the hub for the CPU during the measured interval. Closed loop by default (each connection
// sends its next request as soon as the previous answer is in); with --rate, open loop: request
// i is due at start + i/rate whatever the hub does, and its latency counts from that due time,
// so a stalled hub shows as latency instead of as a slower sender (no coordinated omission).
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "config.h"
#include "jws.h"

namespace {

using Steady = std::chrono::steady_clock;

constexpr const char* kUsage =
    R"(usage: dx_load --url https://127.0.0.1:PORT --ca CA.crt --cert ID.crt --key ID.key
               [--messages M | --duration S] [--connections N] [--rate R]
               [--path /v1/messages] [--method POST|GET] [--json FILE]
               [--body FILE] [--to ID] [--case CASE] [--type TYPE] [--presign N]
               [--presign-seconds S] [--timeout S] [--receipted FILE] [--quiet]

Load generator for a running dxhub (`make bench`, bench/load.sh). Each connection is a thread
with one keep-alive mutual-TLS session (TLS >= 1.2, the hub's certificate verified against
--ca, client certificate --cert/--key). Before the clock starts, each connection makes one
GET /healthz (so handshakes are not measured) and, for POST, every message is signed as the
participant of --cert (fresh UUIDs, the current time; freshness allows about 300 s, so a run
should stay well under that).

  --url URL          https://HOST:PORT of the hub (required); give it more than once to
                     spread the connections over several hub instances (round robin)
  --ca FILE          CA certificate(s) that the hub's certificate must chain to (required)
  --cert, --key FILE client certificate and key; the same key signs the messages (required)
  --connections N    concurrent keep-alive connections (default 32)
  --messages M       send M requests in total, then stop
  --duration S       send for S seconds (closed loop: a pool of --presign messages is signed
                     first; if it runs out the run ends early and says so)
  --rate R           open loop: R requests/s in total across all connections
                     (default: closed loop)
  --path P           request path (default /v1/messages)
  --method M         POST (signed messages) or GET (e.g. --path /healthz: the HTTP ceiling)
  --json FILE        write the results as JSON to FILE
  --receipted FILE   write the id of every message answered 200 or 202 to FILE, one a line
                     (what a test then expects to find delivered)
  --body FILE        message body (default sim/samples/freeze.request.json)
  --type T, --to ID, --case C
                     envelope fields (default freeze.request, bank.sbi, BENCH-1)
  --presign N        messages to sign for a closed-loop --duration run
                     (default 12000 per second of --duration)
  --presign-seconds S
                     stop signing after S seconds and run with what is signed; a --duration
                     run that uses it all ends early, says so, and its rates still hold  --timeout S        per-request socket timeout (default 30)
  --quiet            no progress lines on stderr

Results: requests sent, count by HTTP status, receipted (202 or 200) per second over the
measured interval (first request to last answer), latency p50/p99/p99.9 in ms, errors
(transport failures). Exit status 0 when the run completed, 1 if every request failed or the
set-up failed, 2 on a usage error.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string url, ca, cert, key, path = "/v1/messages", method = "POST", json, receipted;
  std::string body, type = "freeze.request", to = "bank.sbi", caseId = "BENCH-1";
  std::vector<std::string> urls;  // --url, once or more: connection c goes to urls[c % n]
  int connections = 32;
  std::int64_t messages = 0;  // 0: use duration
  double duration = 0;
  double rate = 0;  // 0: closed loop
  std::int64_t presign = 0;
  double presignSeconds = 0;  // 0: no limit
  double timeout = 30;
  bool quiet = false;
};

double toNumber(const std::string& name, const std::string& text) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v) || v < 0) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw UsageError("--" + name + " needs a non-negative number, not '" + text + "'");
  }
}

Options parseOptions(int argc, char** argv, bool& help) {
  Options o;
  help = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      help = true;
      return o;
    }
    if (a == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + a + "' (see --help)");
    std::string name = a.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= argc) throw UsageError("--" + name + " needs a value (see --help)");
      value = argv[++i];
    }
    if (name == "url") {
      o.url = o.url.empty() ? value : o.url + " " + value;
      o.urls.push_back(value);
    } else if (name == "ca")
      o.ca = value;
    else if (name == "cert")
      o.cert = value;
    else if (name == "key")
      o.key = value;
    else if (name == "path")
      o.path = value;
    else if (name == "method") {
      o.method = value;
      std::transform(o.method.begin(), o.method.end(), o.method.begin(), ::toupper);
      if (o.method != "POST" && o.method != "GET") throw UsageError("--method is POST or GET");
    } else if (name == "json")
      o.json = value;
    else if (name == "receipted")
      o.receipted = value;
    else if (name == "body")
      o.body = value;
    else if (name == "type")
      o.type = value;
    else if (name == "to")
      o.to = value;
    else if (name == "case")
      o.caseId = value;
    else if (name == "connections")
      o.connections = static_cast<int>(toNumber(name, value));
    else if (name == "messages")
      o.messages = static_cast<std::int64_t>(toNumber(name, value));
    else if (name == "duration")
      o.duration = toNumber(name, value);
    else if (name == "rate")
      o.rate = toNumber(name, value);
    else if (name == "presign")
      o.presign = static_cast<std::int64_t>(toNumber(name, value));
    else if (name == "presign-seconds")
      o.presignSeconds = toNumber(name, value);
    else if (name == "timeout")
      o.timeout = toNumber(name, value);
    else
      throw UsageError("unknown option '--" + name + "' (see --help)");
  }
  if (o.url.empty()) throw UsageError("--url is required (see --help)");
  if (o.ca.empty() || o.cert.empty() || o.key.empty())
    throw UsageError("--ca, --cert and --key are required (see --help)");
  if (o.connections < 1 || o.connections > 4096) throw UsageError("--connections is 1 to 4096");
  if ((o.messages > 0) == (o.duration > 0))
    throw UsageError("give exactly one of --messages M or --duration S (see --help)");
  if (o.timeout <= 0) throw UsageError("--timeout must be positive");
  if (o.body.empty()) {
    std::string inSource = std::string(DX_SOURCE_DIR) + "/sim/samples/freeze.request.json";
    o.body = std::ifstream(inSource).good() ? inSource : "sim/samples/freeze.request.json";
  }
  return o;
}

// ------------------------------------------------------------------ pre-signing

std::string compactJson(const std::string& text, const std::string& file) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || !doc.IsObject())
    throw std::runtime_error(file + ": the message body must be a JSON object");
  // A sample's respond-by has passed: the hub would escalate every message at once. Load is a
  // day's live requests, due tomorrow.
  auto due = doc.FindMember("respond_by");
  if (due != doc.MemberEnd() && due->value.IsString() && due->value.GetStringLength() > 10) {
    std::string tomorrow = dx::formatRfc3339(dx::SystemClock::instance().unixSeconds() + 86400);
    due->value.SetString(tomorrow.c_str(), doc.GetAllocator());
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::string jsonString(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return {buf.GetString(), buf.GetSize()};
}

// Signs up to `count` envelopes on all cores, for at most `budgetSeconds` (0: no limit);
// returns the JWS texts.
std::vector<std::string> presign(const Options& o, const dx::Signer& signer, std::int64_t count,
                                 double budgetSeconds, std::vector<std::string>& ids) {
  const std::string body = compactJson(dx::readFile(o.body), o.body);
  const std::string created = dx::formatRfc3339(dx::SystemClock::instance().unixSeconds());
  const std::string prefix = R"({"id":")";
  const std::string middle = "\",\"type\":" + jsonString(o.type) +
                             ",\"from\":" + jsonString(signer.participantId()) +
                             ",\"to\":" + jsonString(o.to) + ",\"created\":" + jsonString(created) +
                             ",\"case\":" + jsonString(o.caseId) + ",\"body\":" + body + "}";
  std::vector<std::string> out(static_cast<std::size_t>(count));
  ids.assign(out.size(), {});
  // Threads claim chunks in order and finish every chunk they claim, so when the time budget
  // stops them the signed messages are a prefix of `out`.
  constexpr std::size_t kChunk = 256;
  const std::size_t chunks = (out.size() + kChunk - 1) / kChunk;
  std::atomic<std::size_t> nextChunk{0};
  const auto stopAt = budgetSeconds > 0
                          ? Steady::now() + std::chrono::duration_cast<Steady::duration>(
                                                std::chrono::duration<double>(budgetSeconds))
                          : Steady::time_point::max();
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failureMutex;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      try {
        for (;;) {
          if (Steady::now() >= stopAt) break;
          std::size_t c = nextChunk.fetch_add(1);
          if (c >= chunks) break;
          for (std::size_t i = c * kChunk; i < std::min(out.size(), (c + 1) * kChunk); ++i) {
            ids[i] = dx::newUuid();
            out[i] = signer.sign(prefix + ids[i] + middle);
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(failureMutex);
        failed = true;
        failure = e.what();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (failed) throw std::runtime_error("signing failed: " + failure);
  out.resize(std::min(out.size(), std::min(nextChunk.load(), chunks) * kChunk));
  ids.resize(out.size());
  return out;
}

// ------------------------------------------------------------------ the connections

struct Sample {
  std::uint32_t latencyUs;  // from due time (open loop) or send time (closed loop) to answer
  std::uint32_t serviceUs;  // from send to answer
  int status;               // HTTP status, 0 for a transport error
};

struct ConnectionResult {
  std::vector<Sample> samples;
  std::map<std::string, std::int64_t> errors;    // transport error text → count
  std::map<int, std::string> firstBodyByStatus;  // a sample answer per non-2xx status
  Steady::time_point lastAnswer{};
  std::string setupError;
  std::vector<std::int64_t> receipted;  // indexes of the messages answered 200 or 202
};

std::uint32_t micros(Steady::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX));
}

class Connection {
 public:
  Connection(const Options& o, const Poco::URI& uri, Poco::Net::Context::Ptr ctx)
      : session_(uri.getHost(), uri.getPort(), ctx) {
    session_.setKeepAlive(true);
    session_.setTimeout(Poco::Timespan(static_cast<long>(o.timeout), 0));
  }

  // One request; returns the status and fills `answer`. Throws on a transport error.
  int request(const std::string& method, const std::string& path, const std::string* body,
              std::string& answer) {
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setKeepAlive(true);
    if (body) {
      req.setContentType("application/jose+json");
      req.setContentLength(static_cast<std::streamsize>(body->size()));
    }
    std::ostream& out = session_.sendRequest(req);
    if (body) out.write(body->data(), static_cast<std::streamsize>(body->size()));
    Poco::Net::HTTPResponse res;
    std::istream& in = session_.receiveResponse(res);
    answer.clear();
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0)
      answer.append(buf, static_cast<std::size_t>(in.gcount()));
    return static_cast<int>(res.getStatus());
  }

  void reset() { session_.reset(); }

 private:
  Poco::Net::HTTPSClientSession session_;
};

Poco::Net::Context::Ptr makeContext(const Options& o) {
  using Poco::Net::Context;
  Context::Ptr ctx =
      new Context(Context::TLS_CLIENT_USE, o.key, o.cert, o.ca, Context::VERIFY_RELAXED, 9, false,
                  "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!CAMELLIA:@STRENGTH");
  ctx->requireMinimumProtocol(Context::PROTO_TLSV1_2);
  // A failed verification must fail the handshake; one client certificate for every session.
  Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(
      new Poco::Net::RejectCertificateHandler(false));
  Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, ctx);
  return ctx;
}

double percentileMs(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1] / 1000.0;
}

int run(const Options& o) {
  std::vector<Poco::URI> uris;
  for (const std::string& url : o.urls) {
    uris.emplace_back(url);
    if (uris.back().getScheme() != "https" || uris.back().getHost().empty())
      throw UsageError("--url must be https://HOST:PORT, not '" + url + "'");
  }
  const bool post = o.method == "POST";
  const bool openLoop = o.rate > 0;

  // How many requests at most.
  std::int64_t total = o.messages;
  if (total == 0) {
    if (openLoop)
      total = static_cast<std::int64_t>(std::ceil(o.rate * o.duration));
    else if (post)
      total = o.presign > 0 ? o.presign : static_cast<std::int64_t>(std::ceil(12000 * o.duration));
    else
      total = INT64_MAX;  // GET for a duration: no pool needed
  }

  std::vector<std::string> messages, ids;
  double presignSeconds = 0;
  if (post) {
    dx::Signer signer = dx::Signer::fromFiles(o.key, o.cert);
    auto t = Steady::now();
    messages = presign(o, signer, total, o.presignSeconds, ids);
    total = static_cast<std::int64_t>(messages.size());
    presignSeconds = std::chrono::duration<double>(Steady::now() - t).count();
    if (!o.quiet)
      std::cerr << "dx_load: signed " << messages.size() << " messages as "
                << signer.participantId() << " in " << presignSeconds << " s\n";
  }

  Poco::Net::Context::Ptr ctx = makeContext(o);
  const int n = o.connections;
  std::vector<ConnectionResult> results(static_cast<std::size_t>(n));
  std::atomic<std::int64_t> next{0};
  Steady::time_point start{};
  Steady::time_point deadline = Steady::time_point::max();
  std::barrier ready(n + 1);
  std::barrier go(n + 1);
  const auto perRequest =
      openLoop ? std::chrono::duration<double>(1.0 / o.rate) : std::chrono::duration<double>(0);

  std::vector<std::thread> threads;
  for (int c = 0; c < n; ++c) {
    threads.emplace_back([&, c] {
      ConnectionResult& r = results[static_cast<std::size_t>(c)];
      std::unique_ptr<Connection> conn;
      std::string answer;
      try {
        conn =
            std::make_unique<Connection>(o, uris[static_cast<std::size_t>(c) % uris.size()], ctx);
        int status = conn->request("GET", "/healthz", nullptr, answer);  // handshake, off the clock
        if (status >= 500) r.setupError = "GET /healthz answered " + std::to_string(status);
      } catch (const Poco::Exception& e) {
        r.setupError = e.displayText();
      } catch (const std::exception& e) {
        r.setupError = e.what();
      }
      ready.arrive_and_wait();
      go.arrive_and_wait();
      if (!r.setupError.empty()) return;
      r.samples.reserve(openLoop || o.messages ? static_cast<std::size_t>(total / n + 16)
                                               : 1 << 16);
      for (;;) {
        std::int64_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= total) break;
        Steady::time_point due = start;
        if (openLoop) {
          due = start +
                std::chrono::duration_cast<Steady::duration>(perRequest * static_cast<double>(i));
          if (due >= deadline) break;
          std::this_thread::sleep_until(due);
        } else if (Steady::now() >= deadline) {
          break;
        }
        const std::string* body = post ? &messages[static_cast<std::size_t>(i)] : nullptr;
        Steady::time_point sent = Steady::now();
        int status = 0;
        try {
          status = conn->request(o.method, o.path, body, answer);
          if (post && (status == 200 || status == 202)) r.receipted.push_back(i);
          if ((status < 200 || status > 299) && !r.firstBodyByStatus.count(status))
            r.firstBodyByStatus[status] = answer.substr(0, 400);
        } catch (const Poco::Exception& e) {
          ++r.errors[e.displayText()];
          conn->reset();
        } catch (const std::exception& e) {
          ++r.errors[e.what()];
          conn->reset();
        }
        Steady::time_point done = Steady::now();
        r.lastAnswer = done;
        r.samples.push_back({micros(done - (openLoop ? due : sent)), micros(done - sent), status});
      }
    });
  }

  ready.arrive_and_wait();
  int failedSetup = 0;
  for (auto& r : results)
    if (!r.setupError.empty()) {
      if (failedSetup++ == 0)
        std::cerr << "dx_load: connection set-up failed: " << r.setupError << "\n";
    }
  if (failedSetup == n) {
    go.arrive_and_wait();
    for (auto& t : threads) t.join();
    std::cerr << "dx_load: no connection to " << o.url << " could be set up\n";
    return 1;
  }
  start = Steady::now();
  if (o.duration > 0)
    deadline = start + std::chrono::duration_cast<Steady::duration>(
                           std::chrono::duration<double>(o.duration));
  go.arrive_and_wait();
  for (auto& t : threads) t.join();

  // ---------------------------------------------------------------- results
  Steady::time_point end = start;
  std::map<int, std::int64_t> byStatus;
  std::map<std::string, std::int64_t> errors;
  std::map<int, std::string> sampleBodies;
  std::vector<std::uint32_t> lat, okLat, svc;
  for (auto& r : results) {
    end = std::max(end, r.lastAnswer);
    for (auto& [k, v] : r.errors) errors[k] += v;
    for (auto& [k, v] : r.firstBodyByStatus) sampleBodies.emplace(k, v);
    for (const Sample& s : r.samples) {
      ++byStatus[s.status];
      lat.push_back(s.latencyUs);
      svc.push_back(s.serviceUs);
      if (s.status == 200 || s.status == 202) okLat.push_back(s.latencyUs);
    }
  }
  std::int64_t sent = static_cast<std::int64_t>(lat.size());
  std::int64_t receipted =
      (byStatus.count(200) ? byStatus[200] : 0) + (byStatus.count(202) ? byStatus[202] : 0);
  std::int64_t transportErrors = byStatus.count(0) ? byStatus[0] : 0;
  double interval = std::chrono::duration<double>(end - start).count();
  bool exhausted = o.duration > 0 && post && sent >= total &&
                   end < deadline - std::chrono::milliseconds(
                                        openLoop ? 50 + static_cast<int>(2000 / o.rate) : 50);
  std::sort(lat.begin(), lat.end());
  std::sort(okLat.begin(), okLat.end());
  std::sort(svc.begin(), svc.end());
  double perSecond = interval > 0 ? receipted / interval : 0;
  double mean = 0;
  for (auto v : lat) mean += v;
  mean = lat.empty() ? 0 : mean / static_cast<double>(lat.size()) / 1000.0;

  std::string statusText;
  for (auto& [k, v] : byStatus)
    statusText += ", " + (k ? std::to_string(k) : std::string("err")) + "=" + std::to_string(v);
  std::printf(
      "dx_load %s %s: %d conn, %s, %.2f s: sent %lld%s; receipted %.1f/s; "
      "latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms; errors %lld%s\n",
      o.method.c_str(), o.path.c_str(), n,
      openLoop ? ("open loop " + std::to_string(static_cast<long long>(o.rate)) + "/s").c_str()
               : "closed loop",
      interval, static_cast<long long>(sent), statusText.c_str(), perSecond, percentileMs(lat, 50),
      percentileMs(lat, 99), percentileMs(lat, 99.9), static_cast<long long>(transportErrors),
      exhausted ? " (the pre-signed pool ran out before --duration: the rate holds over the "
                  "shorter interval)"
                : "");
  std::fflush(stdout);
  for (auto& [k, v] : sampleBodies) std::cerr << "dx_load: a " << k << " answer: " << v << "\n";
  int shown = 0;
  for (auto& [k, v] : errors)
    if (shown++ < 5) std::cerr << "dx_load: transport error x" << v << ": " << k << "\n";

  if (!o.json.empty()) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    auto key = [&](const char* k) { w.Key(k); };
    w.StartObject();
    key("url");
    w.String(o.url);
    key("method");
    w.String(o.method);
    key("path");
    w.String(o.path);
    key("connections");
    w.Int(n);
    key("mode");
    w.String(openLoop ? "open" : "closed");
    key("target_rate");
    w.Double(o.rate);
    key("presigned");
    w.Int64(static_cast<std::int64_t>(messages.size()));
    key("presign_seconds");
    w.Double(presignSeconds);
    key("failed_connections");
    w.Int(failedSetup);
    key("sent");
    w.Int64(sent);
    key("by_status");
    w.StartObject();
    for (auto& [k, v] : byStatus) {
      key(k ? std::to_string(k).c_str() : "transport_error");
      w.Int64(v);
    }
    w.EndObject();
    key("receipted");
    w.Int64(receipted);
    key("errors");
    w.Int64(transportErrors);
    key("interval_s");
    w.Double(interval);
    key("receipted_per_s");
    w.Double(perSecond);
    key("requests_per_s");
    w.Double(interval > 0 ? sent / interval : 0);
    key("pool_exhausted");
    w.Bool(exhausted);
    key("latency_from");
    w.String(openLoop ? "due time" : "send time");
    key("latency_ms");
    w.StartObject();
    key("p50");
    w.Double(percentileMs(lat, 50));
    key("p90");
    w.Double(percentileMs(lat, 90));
    key("p99");
    w.Double(percentileMs(lat, 99));
    key("p99.9");
    w.Double(percentileMs(lat, 99.9));
    key("max");
    w.Double(lat.empty() ? 0 : lat.back() / 1000.0);
    key("mean");
    w.Double(mean);
    w.EndObject();
    key("receipted_latency_ms");
    w.StartObject();
    key("p50");
    w.Double(percentileMs(okLat, 50));
    key("p99");
    w.Double(percentileMs(okLat, 99));
    key("p99.9");
    w.Double(percentileMs(okLat, 99.9));
    w.EndObject();
    key("service_ms");
    w.StartObject();
    key("p50");
    w.Double(percentileMs(svc, 50));
    key("p99");
    w.Double(percentileMs(svc, 99));
    key("p99.9");
    w.Double(percentileMs(svc, 99.9));
    w.EndObject();
    key("transport_errors");
    w.StartObject();
    for (auto& [k, v] : errors) {
      key(k.c_str());
      w.Int64(v);
    }
    w.EndObject();
    key("sample_answers");
    w.StartObject();
    for (auto& [k, v] : sampleBodies) {
      key(std::to_string(k).c_str());
      w.String(v);
    }
    w.EndObject();
    w.EndObject();
    std::ofstream f(o.json, std::ios::trunc);
    f << buf.GetString() << "\n";
    if (!f) throw std::runtime_error("cannot write " + o.json);
  }
  if (!o.receipted.empty()) {
    std::ofstream f(o.receipted, std::ios::trunc);
    for (auto& r : results)
      for (std::int64_t i : r.receipted) f << ids[static_cast<std::size_t>(i)] << "\n";
    if (!f) throw std::runtime_error("cannot write " + o.receipted);
  }
  if (failedSetup == n) return 1;
  return sent > 0 && transportErrors == sent ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool help = false;
    Options o = parseOptions(argc, argv, help);
    if (help) {
      std::cout << kUsage;
      return 0;
    }
    Poco::Net::initializeSSL();
    int rc = run(o);
    Poco::Net::uninitializeSSL();
    return rc;
  } catch (const UsageError& e) {
    std::cerr << "dx_load: " << e.what() << "\n";
    return 2;
  } catch (const Poco::Exception& e) {
    std::cerr << "dx_load: " << e.displayText() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dx_load: " << e.what() << "\n";
    return 1;
  }
}
