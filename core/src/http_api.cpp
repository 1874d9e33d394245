#include "http_api.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/NumberParser.h>
#include <Poco/URI.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "case_api.h"
#include "certificate.h"
#include "clock.h"
#include "crime_report_formats.h"
#include "http_connection.h"
#include "tls.h"

namespace dx {

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kProblemType = "application/problem+json";
constexpr const char* kJsonType = "application/json";
constexpr const char* kJoseType = "application/jose+json";

// The participant named by the TLS client certificate's SAN URI, if it is registered.
std::string clientParticipant(HTTPServerRequest& request, const Registry& registry) {
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  if (!impl) return {};
  std::string id = connectionClient(request, [impl]() -> std::string {
    try {
      Poco::Net::SecureStreamSocket socket(impl->socket());
      if (!socket.havePeerCertificate()) return {};
      Poco::Net::X509Certificate cert = socket.peerCertificate();
      return participantIdOf(const_cast<X509*>(cert.certificate()));
    } catch (const Poco::Exception&) {
      return {};
    }
  });
  return registry.find(id) ? id : std::string();
}

// The request body, or nullopt past `limit` bytes: a Content-Length over it is refused before
// reading anything, a chunked body is cut as soon as it passes it.
std::optional<std::string> readBody(HTTPServerRequest& request, std::size_t limit) {
  if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(limit))
    return std::nullopt;
  std::string body;
  if (request.hasContentLength())
    body.reserve(static_cast<std::size_t>(request.getContentLength64()));
  std::istream& in = request.stream();
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    body.append(buf, static_cast<std::size_t>(in.gcount()));
    if (body.size() > limit) return std::nullopt;
  }
  return body;
}

// After refusing a body unread: see lingerAndDrain (http_connection.h).
void lingerAndDrain(HTTPServerRequest& request) {
  if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request))
    dx::lingerAndDrain(impl->socket());
}

// Whether the store answered its last trivial query (Store::ping), asked again when the answer
// is a second old. A load balancer's health check thus stops sending to an instance whose
// database is gone, and thousands of checks a second still cost one query a second.
bool storeAnswers(ApiContext& ctx) {
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch())
          .count();
  if (now - ctx.storeCheckedAt.load() < 1000 || ctx.storeChecking.exchange(true))
    return ctx.storeAnswers.load();
  bool answers = true;
  std::string why;
  try {
    ctx.store.ping();
  } catch (const std::exception& e) {
    answers = false;
    why = e.what();
  }
  if (answers != ctx.storeAnswers.exchange(answers)) {
    if (answers)
      ctx.log.information("healthz: the store answers again");
    else
      ctx.log.error("healthz: the store does not answer (%s); /healthz says 503", why);
  }
  ctx.storeCheckedAt = now;
  ctx.storeChecking = false;
  return answers;
}

std::string shortId(std::string_view id) {
  return id.size() > 8 ? "…" + std::string(id.substr(id.size() - 8)) : std::string(id);
}

class ApiHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ApiHandler(ApiContext& ctx) : ctx_(ctx) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    auto started = SteadyClock::now();
    ++ctx_.inFlight;
    std::string route = "other";
    std::string client, outcome, detail;
    int status = 500;
    try {
      status = dispatch(request, response, route, client, outcome, detail);
    } catch (const std::exception& e) {
      // Nothing a request does may take the process down; the client sees a plain 500.
      ctx_.log.error("request failed: %s", std::string(e.what()));
      status = 500;
      if (!response.sent())
        send(response, 500, kProblemType, problemJson({"internal", "internal error"}));
    }
    double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    ctx_.metrics.countRequest(route, status);
    --ctx_.inFlight;
    // One line per request: never a body, ids shortened. (Put together here: Poco::format took
    // 3 % of a request's CPU.)
    if (ctx_.log.information()) {
      char tail[64];
      std::snprintf(tail, sizeof tail, " status=%d ", status);
      std::string line = connectionPeer(request);
      line.append(" ").append(request.getMethod()).append(" ").append(route);
      line.append(" client=").append(client.empty() ? "-" : client).append(tail).append(outcome);
      if (!detail.empty()) line.append(" ").append(detail);
      std::snprintf(tail, sizeof tail, " %.2fms", seconds * 1000);
      ctx_.log.information(line.append(tail));
    }
  }

 private:
  int send(HTTPServerResponse& response, int status, const char* type, const std::string& body) {
    response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
    if (ctx_.stopping) response.setKeepAlive(false);  // shutting down: no further requests here
    response.setContentType(type);
    response.setContentLength64(static_cast<Poco::Int64>(body.size()));
    response.sendBuffer(body.data(), body.size());
    return status;
  }
  int problem(HTTPServerResponse& response, const Problem& p, std::string& outcome) {
    outcome = p.code;
    return send(response, problemStatus(p.code), kProblemType, problemJson(p));
  }

  int dispatch(HTTPServerRequest& request, HTTPServerResponse& response, std::string& route,
               std::string& client, std::string& outcome, std::string& detail) {
    Poco::URI uri(request.getURI());
    const std::string& path = uri.getPath();
    const std::string& method = request.getMethod();
    if (path == "/healthz") {
      route = "/healthz";
      if (!storeAnswers(ctx_))
        return problem(response, {"store_unavailable", "the hub cannot reach its store"}, outcome);
      outcome = "ok";
      return send(response, 200, "text/plain", "ok\n");
    }
    if (path == "/metrics") {
      route = "/metrics";
      outcome = "ok";
      return send(response, 200, "text/plain; version=0.0.4", ctx_.metrics.render());
    }
    if (path.rfind("/v1/", 0) != 0) {
      route = "unknown";
      return problem(response, {"not_found", "no such resource"}, outcome);
    }
    client = clientParticipant(request, ctx_.registry);
    std::vector<std::string> parts;
    uri.getPathSegments(parts);
    if (parts.size() == 2 && parts[1] == "messages") {
      route = "/v1/messages";
      if (method != "POST") return problem(response, {"method_not_allowed", "use POST"}, outcome);
      if (client.empty()) return unauthenticated(response, outcome);
      return postMessage(request, response, client, outcome, detail);
    }
    if (client.empty()) {
      route = parts.size() >= 2 ? "/v1/" + parts[1] : "/v1";
      return unauthenticated(response, outcome);
    }
    if (parts.size() == 3 && parts[1] == "messages") {
      route = "/v1/messages/{id}";
      if (method != "GET") return problem(response, {"method_not_allowed", "use GET"}, outcome);
      return messageStatus(response, parts[2], client, outcome);
    }
    if (parts.size() == 2 && parts[1] == "inbox") {
      route = "/v1/inbox";
      if (method != "GET") return problem(response, {"method_not_allowed", "use GET"}, outcome);
      return inbox(uri, response, client, outcome);
    }
    if (parts.size() == 4 && parts[1] == "inbox" && parts[3] == "ack") {
      route = "/v1/inbox/{id}/ack";
      if (method != "POST") return problem(response, {"method_not_allowed", "use POST"}, outcome);
      return ack(response, parts[2], client, outcome);
    }
    if (parts.size() == 3 && parts[1] == "reports" && parts[2] == "cyber-crime") {
      route = "/v1/reports/cyber-crime";
      if (method != "GET") return problem(response, {"method_not_allowed", "use GET"}, outcome);
      return cyberCrimeReport(uri, response, client, outcome);
    }
    if (ctx_.cases)
      if (std::optional<ApiAnswer> a =
              caseRoute(method, parts, client, ctx_.registry, *ctx_.cases, ctx_.config, route)) {
        outcome = a->outcome;
        return send(response, a->status, a->contentType.c_str(), a->body);
      }
    route = "unknown";
    return problem(response, {"not_found", "no such resource"}, outcome);
  }

  int unauthenticated(HTTPServerResponse& response, std::string& outcome) {
    return problem(
        response,
        {"unauthenticated", "a client certificate issued to a registered participant is required"},
        outcome);
  }

  int postMessage(HTTPServerRequest& request, HTTPServerResponse& response,
                  const std::string& client, std::string& outcome, std::string& detail) {
    auto started = SteadyClock::now();
    std::optional<std::string> body = readBody(request, ctx_.config.limits.maxBodyBytes);
    if (!requestDeadlineMet(request)) {  // cut by the deadline: what was read is not the body
      response.setKeepAlive(false);
      return problem(
          response,
          timeoutRefusal(std::chrono::seconds(ctx_.config.limits.requestDeadlineS)).problem,
          outcome);
    }
    if (!body) {
      response.setKeepAlive(false);  // the rest of the body is not read; the connection ends
      Outcome o = ctx_.pipeline.refuse(
          {"too_large",
           "the body is larger than " + std::to_string(ctx_.config.limits.maxBodyBytes) + " bytes"},
          client);
      outcome = o.code;
      send(response, o.status, kProblemType, o.body);
      lingerAndDrain(request);
      return o.status;
    }
    if (ctx_.stopping) {  // after SIGTERM: new work goes to the next instance or the restart
      response.set("Retry-After", "1");
      return problem(response, {"busy", "the hub is shutting down; retry after 1 s"}, outcome);
    }
    // Admission control: past workers + queue requests in the pipeline, the hub says so at once
    // instead of stalling. (No CPU semaphore: a request waiting for its group commit must not
    // hold a slot, or batches could never grow past the slot count.)
    if (++ctx_.admitted > ctx_.admitLimit) {
      --ctx_.admitted;
      response.set("Retry-After", "1");
      ctx_.metrics.countMessage("", "busy");
      return problem(response, {"busy", "the hub is at capacity; retry after 1 s"}, outcome);
    }
    struct Release {
      std::atomic<int>& n;
      ~Release() { --n; }
    } release{ctx_.admitted};
    Outcome o = ctx_.pipeline.submit(*body, client);
    outcome = o.code;
    detail = o.type + " " + shortId(o.messageId);
    if (o.isProblem()) {
      if (o.status == 503) response.set("Retry-After", "1");
      return send(response, o.status, kProblemType, o.body);
    }
    ctx_.metrics.observeReceiptLatency(
        std::chrono::duration<double>(SteadyClock::now() - started).count());
    return send(response, o.status, kJoseType, o.body);
  }

  bool mayRead(const MessageRecord& m, const std::string& client) {
    if (m.from == client || m.to == client) return true;
    const Participant* p = ctx_.registry.find(client);
    return p && (p->role == "sp_office" || p->role == "hub");
  }

  int messageStatus(HTTPServerResponse& response, const std::string& id, const std::string& client,
                    std::string& outcome) {
    std::optional<MessageRecord> m = ctx_.store.find(id);
    // Not yours and not there answer the same: ids cannot be probed.
    if (!m || !mayRead(*m, client))
      return problem(response, {"not_found", "no such message"}, outcome);
    std::vector<std::string> replies = ctx_.store.replies(id);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto field = [&](const char* k, const std::string& v) {
      w.Key(k);
      w.String(v);
    };
    w.StartObject();
    field("id", m->id);
    field("type", m->type);
    field("from", m->from);
    field("to", m->to);
    if (!m->caseId.empty()) field("case", m->caseId);
    if (!m->ref.empty()) field("ref", m->ref);
    field("created", m->created);
    field("accepted_at", m->acceptedAt);
    field("digest", m->digest);
    field("state", m->state);
    w.Key("attempts");
    w.Int(m->attempts);
    field("last_error", m->lastError);
    if (m->nextAttemptAt > 0 && m->state == "delivering")
      field("next_attempt_at", formatRfc3339(m->nextAttemptAt / 1000));
    if (!m->connector.empty()) field("connector", m->connector);
    w.Key("audit_seq");
    w.Int64(m->seq);
    w.Key("replies");
    w.StartArray();
    for (const std::string& r : replies) w.String(r);
    w.EndArray();
    w.EndObject();
    outcome = m->state;
    return send(response, 200, kJsonType, {buf.GetString(), buf.GetSize()});
  }

  int inbox(const Poco::URI& uri, HTTPServerResponse& response, const std::string& client,
            std::string& outcome) {
    Poco::Int64 after = 0;
    int limit = 100;
    for (const auto& [key, value] : uri.getQueryParameters()) {
      bool ok = true;
      if (key == "after")
        ok = Poco::NumberParser::tryParse64(value, after) && after >= 0;
      else if (key == "limit")
        ok = Poco::NumberParser::tryParse(value, limit) && limit >= 1 && limit <= 1000;
      if (!ok)
        return problem(response,
                       {"malformed", "after must be a sequence number ≥ 0 and limit 1 to 1000"},
                       outcome);
    }
    std::vector<MessageRecord> messages = ctx_.store.inbox(client, after, limit);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("messages");
    w.StartArray();
    for (const MessageRecord& m : messages) {
      w.StartObject();
      w.Key("seq");
      w.Int64(m.seq);
      for (auto [k, v] : {std::pair{"id", &m.id},
                          {"type", &m.type},
                          {"from", &m.from},
                          {"state", &m.state},
                          {"jws", &m.jws}}) {
        w.Key(k);
        w.String(*v);
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("next_after");
    w.Int64(messages.empty() ? after : messages.back().seq);
    w.EndObject();
    outcome = std::to_string(messages.size()) + " messages";
    return send(response, 200, kJsonType, {buf.GetString(), buf.GetSize()});
  }

  int ack(HTTPServerResponse& response, const std::string& id, const std::string& client,
          std::string& outcome) {
    std::optional<MessageRecord> m = ctx_.store.find(id);
    if (!m || m->to != client)
      return problem(response, {"not_found", "no such message in your inbox"}, outcome);
    std::string state = m->state;
    if (state == "accepted" || state == "delivering" || state == "dead") {
      AuditEntry entry{
          0,      {}, "state", m->id, m->digest, m->from, m->to, m->type, "delivered (inbox ack)",
          client, {}};
      if (!ctx_.journal.record(std::move(entry), "delivered"))
        return problem(response, {"store_unavailable", "the hub could not record the ack; retry"},
                       outcome);
      state = "delivered";
    }
    outcome = state;
    return send(response, 200, kJsonType, R"({"id":")" + m->id + R"(","state":")" + state + "\"}");
  }

  // GET /v1/reports/cyber-crime?from=YYYY-MM&to=YYYY-MM&format=json|csv|svg (DESIGN §6).
  int cyberCrimeReport(const Poco::URI& uri, HTTPServerResponse& response,
                       const std::string& client, std::string& outcome) {
    const Participant* caller = ctx_.registry.find(client);
    if (!caller ||
        (caller->role != "cyber_cell" && caller->role != "sp_office" && caller->role != "hub"))
      return problem(response,
                     {"forbidden",
                      "the cyber-crime report is for the cyber cell, the SP office "
                      "and hub operators"},
                     outcome);
    std::string from, to, format = "json";
    for (const auto& [key, value] : uri.getQueryParameters()) {
      if (key == "from")
        from = value;
      else if (key == "to")
        to = value;
      else if (key == "format")
        format = value.empty() ? "json" : value;
      else
        return problem(response, {"bad_query", "unknown query parameter; use from, to and format"},
                       outcome);
    }
    const char* type = format == "json"  ? kJsonType
                       : format == "csv" ? "text/csv; charset=utf-8"
                       : format == "svg" ? "image/svg+xml"
                                         : nullptr;
    if (!type) return problem(response, {"bad_query", "format must be json, csv or svg"}, outcome);
    Expected<ReportPeriod> period = reportPeriod(from, to, *ctx_.clock);
    if (!period) return problem(response, period.problem(), outcome);
    std::vector<StationRecord> records;
    try {
      records = latestStationRecords(ctx_.store);
    } catch (const StoreError&) {
      return problem(response, {"store_unavailable", "the hub could not read its store; retry"},
                     outcome);
    }
    CrimeReport report = buildCrimeReport(ctx_.config, records, period.value());
    outcome = format + " " + report.period.from.text() + ".." + report.period.to.text();
    return send(response, 200, type,
                format == "json"  ? crimeReportJson(report)
                : format == "csv" ? crimeReportCsv(report)
                                  : crimeReportSvg(report));
  }

  ApiContext& ctx_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(ApiContext& ctx) : ctx_(ctx) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest& request) override {
    // Poco answers `Expect: 100-continue` before the handler runs, unless the response already
    // has a status other than 200. A body the hub will refuse by its Content-Length must get
    // the 413 at once, not an invitation to upload it.
    if (request.getExpectContinue() && request.hasContentLength() &&
        request.getContentLength64() > static_cast<Poco::Int64>(ctx_.config.limits.maxBodyBytes)) {
      if (auto* impl = dynamic_cast<const Poco::Net::HTTPServerRequestImpl*>(&request))
        impl->response().setStatus(HTTPResponse::HTTP_REQUESTENTITYTOOLARGE);
    }
    return new ApiHandler(ctx_);
  }

 private:
  ApiContext& ctx_;
};

Poco::Net::SocketAddress listenAddress(const std::string& listen) {
  try {
    return Poco::Net::SocketAddress(listen);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("listen address " + listen + " is not HOST:PORT (" + e.displayText() +
                             ")");
  }
}

}  // namespace

Poco::Net::HTTPServerParams::Ptr httpServerParams(const Limits& limits) {
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(limits.maxConnections);
  params->setMaxQueued(limits.maxConnections);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);  // unlimited on one connection
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  params->setTimeout(Poco::Timespan(0, limits.readTimeoutMs * 1000));
  params->setServerName("dxhub");
  // A connection thread that was busy when stop() woke the idle ones waits this long for more
  // work before it sees the stop (Poco's default, 10 s, made SIGTERM take up to 14 s after
  // many connections had been open). Idle threads stay in the pool: leaving early is cheap.
  params->setThreadIdleTime(Poco::Timespan(1, 0));
  return params;
}

HttpApi::HttpApi(const HubConfig& config, const std::string& listen, const Registry& registry,
                 Pipeline& pipeline, Store& store, Journal& journal, Metrics& metrics,
                 Poco::Logger& log, const Clock& clock)
    : ctx_(new ApiContext{config, registry, pipeline, store, journal, metrics, log,
                          config.limits.workers + config.limits.queue}) {
  ctx_->clock = &clock;
  Poco::Net::Context::Ptr tls =
      makeServerContext({config.hubCertPath(), config.hubKeyPath(), config.caPath, config.crlPath});
  Poco::Net::SecureServerSocket socket(listenAddress(listen), 128, tls);
  Poco::Net::HTTPServerParams::Ptr params = httpServerParams(config.limits);
  threads_ = std::make_unique<Poco::ThreadPool>(2, config.limits.maxConnections + 4, 60);
  // What Poco's HTTPServer is, a TCPServer, with dxhub's own connection (http_connection.h) in
  // place of Poco's: head limits answered as problem+json, and a deadline for each request.
  deadlines_ = std::make_unique<RequestDeadlines>(
      std::chrono::seconds(config.limits.requestDeadlineS), std::chrono::milliseconds(100));
  HeadLimits head{config.limits.maxHeaderFields, config.limits.maxHeaderBytes,
                  config.limits.maxUriBytes};
  auto refused = [c = ctx_.get()](const Poco::Net::SocketAddress& peer, const HeadRefusal& r) {
    c->metrics.countRequest("other", r.status);
    c->log.information("%s - other client=- status=%d %s (%s)", peer.host().toString(), r.status,
                       r.problem.code, r.problem.detail);
  };
  server_ = std::make_unique<Poco::Net::TCPServer>(
      new HttpConnectionFactory(params, new Factory(*ctx_), head, *deadlines_, refused), *threads_,
      socket, params);
  metrics.addGauge("dxhub_open_connections", "Open client connections.",
                   [s = server_.get()] { return static_cast<double>(s->currentConnections()); });
  metrics.addGauge("dxhub_queue_depth",
                   "Messages in the pipeline: checking, or waiting for their group commit.",
                   [c = ctx_.get()] { return static_cast<double>(c->admitted.load()); });
  metrics.addGauge("dxhub_store_queue_depth", "Entries waiting for the next group commit.",
                   [&journal] { return static_cast<double>(journal.queueDepth()); });
}

HttpApi::~HttpApi() {
  stop(0);
}

void HttpApi::start() {
  server_->start();
}

unsigned short HttpApi::port() const {
  return server_->port();
}

void HttpApi::stop(int graceMs) {
  if (!server_) return;
  ctx_->stopping = true;
  server_->stop();  // no new connections
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(graceMs);
  while (ctx_->inFlight.load() > 0 && SteadyClock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  deadlines_->stopAll();  // idle keep-alive connections are closed
  threads_->joinAll();
  server_.reset();
}

}  // namespace dx
