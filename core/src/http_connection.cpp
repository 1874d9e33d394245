#include "http_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <string_view>

#include <Poco/Any.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/SecureStreamSocketImpl.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Timestamp.h>

#include "pipeline.h"

namespace dx {

using Poco::Net::HTTPResponse;
using Steady = std::chrono::steady_clock;

std::optional<HeadRefusal> checkHead(const Poco::Net::HTTPRequest& request,
                                     const HeadLimits& limits) {
  if (request.getURI().size() > limits.maxUriBytes)
    return HeadRefusal{414,
                       {"too_large", "the request URI is longer than " +
                                         std::to_string(limits.maxUriBytes) + " bytes"}};
  if (request.size() > static_cast<std::size_t>(limits.maxFields))
    return HeadRefusal{431,
                       {"too_large", "the request has more than " +
                                         std::to_string(limits.maxFields) + " header fields"}};
  std::size_t bytes = 0;
  for (const auto& [name, value] : request) bytes += name.size() + value.size();
  if (bytes > limits.maxHeaderBytes)
    return HeadRefusal{
        431,
        {"too_large", "the request's header fields are longer than " +
                          std::to_string(limits.maxHeaderBytes) + " bytes together"}};
  return std::nullopt;
}

HeadRefusal headRefusal(const Poco::Net::MessageException& e, const HeadLimits& limits) {
  // Poco 1.11's parser (HTTPRequest::read, MessageHeader::read) says which limit it hit only in
  // its message; the hostile catalogue notices if a later Poco words them otherwise.
  const std::string& what = e.message();
  auto says = [&](std::string_view s) { return what.find(s) != std::string::npos; };
  if (says("URI invalid or too long"))
    return {414,
            {"too_large",
             "the request URI is longer than " + std::to_string(limits.maxUriBytes) + " bytes"}};
  if (says("Too many header fields"))
    return {431,
            {"too_large",
             "the request has more than " + std::to_string(limits.maxFields) + " header fields"}};
  if (says("Field name too long"))
    return {431, {"too_large", "a header field name is longer than 256 bytes"}};
  if (says("field value too long") || says("Field value too long"))
    return {431, {"too_large", "a header field value is longer than 8192 bytes"}};
  return {400, {"malformed", "the request line or header is not HTTP/1.1"}};
}

HeadRefusal timeoutRefusal(std::chrono::milliseconds deadline) {
  std::string limit = deadline.count() % 1000 == 0 ? std::to_string(deadline.count() / 1000) + " s"
                                                   : std::to_string(deadline.count()) + " ms";
  return {408, {"timeout", "the request was not complete within " + limit}};
}

// ---------------------------------------------------------------- deadlines

RequestDeadlines::RequestDeadlines(std::chrono::milliseconds limit,
                                   std::chrono::milliseconds interval, Now now)
    : limit_(limit), now_(std::move(now)) {
  if (interval.count() > 0) thread_ = std::thread([this, interval] { watch(interval); });
}

RequestDeadlines::~RequestDeadlines() {
  stopAll();
}

void RequestDeadlines::add(Slot& slot) {
  std::lock_guard lock(mutex_);
  if (stopping_) slot.stopped = true;  // came in while the server stopped
  slots_.insert(&slot);
}

void RequestDeadlines::remove(Slot& slot) {
  std::lock_guard lock(mutex_);
  slots_.erase(&slot);
}

void RequestDeadlines::begin(Slot& slot) {
  std::lock_guard lock(mutex_);
  if (!slot.expired) slot.until = now_() + limit_;
}

bool RequestDeadlines::end(Slot& slot) {
  std::lock_guard lock(mutex_);
  slot.until.reset();
  return !slot.expired;
}

bool RequestDeadlines::expired(Slot& slot) {
  std::lock_guard lock(mutex_);
  return slot.expired;
}

int RequestDeadlines::sweep() {
  std::lock_guard lock(mutex_);
  const Steady::time_point now = now_();
  int cut = 0;
  for (Slot* slot : slots_) {
    if (!slot->until || *slot->until > now) continue;
    slot->until.reset();
    slot->expired = true;
    ++cut;
    // Only the receiving side, and on the file descriptor: the connection's thread may be in
    // the TLS library (which must not be entered from two threads at once); its read ends and it
    // can still write the 408. (Poco's SecureStreamSocket::shutdownReceive does nothing.)
    poco_socket_t fd = slot->socket.impl()->sockfd();
    if (fd != POCO_INVALID_SOCKET) ::shutdown(fd, SHUT_RD);
  }
  return cut;
}

void RequestDeadlines::stopAll() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (Slot* slot : slots_) {
      slot->stopped = true;
      poco_socket_t fd = slot->socket.impl()->sockfd();
      if (fd != POCO_INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
    }
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void RequestDeadlines::watch(std::chrono::milliseconds interval) {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval);
    if (stopping_) break;
    lock.unlock();
    sweep();
    lock.lock();
  }
}

namespace {

// What a connection has worked out about its client, for its requests.
struct ConnectionFacts {
  std::optional<std::string> client;
  std::string peer;
};

struct SlotRef {
  RequestDeadlines* deadlines;
  RequestDeadlines::Slot* slot;
  ConnectionFacts* facts;
};

const SlotRef* slotOf(Poco::Net::HTTPServerRequest& request) {
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  return impl ? Poco::AnyCast<SlotRef>(&impl->session().sessionData()) : nullptr;
}

}  // namespace

bool requestDeadlineMet(Poco::Net::HTTPServerRequest& request) {
  const SlotRef* ref = slotOf(request);
  return !ref || ref->deadlines->end(*ref->slot);
}

std::string connectionClient(Poco::Net::HTTPServerRequest& request,
                             const std::function<std::string()>& find) {
  const SlotRef* ref = slotOf(request);
  if (!ref) return find();
  if (!ref->facts->client) ref->facts->client = find();
  return *ref->facts->client;
}

std::string connectionPeer(Poco::Net::HTTPServerRequest& request) {
  const SlotRef* ref = slotOf(request);
  if (!ref) return request.clientAddress().host().toString();
  if (ref->facts->peer.empty()) ref->facts->peer = request.clientAddress().host().toString();
  return ref->facts->peer;
}

void lingerAndDrain(Poco::Net::StreamSocket& socket) {
  constexpr std::size_t kMaxDrain = 64u << 20;
  const auto deadline = Steady::now() + std::chrono::seconds(3);
  try {
    socket.shutdownSend();
    socket.setReceiveTimeout(Poco::Timespan(0, 250000));
    char buf[65536];
    std::size_t drained = 0;
    while (drained < kMaxDrain && Steady::now() < deadline) {
      int n = socket.receiveBytes(buf, sizeof buf);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
  } catch (const Poco::Exception&) {
    // The client went away or stopped sending: done.
  }
}

// ---------------------------------------------------------------- the connection

namespace {

// Poco 1.11's HTTPServerSession, whose hasMoreRequests() waits for the next request through an
// epoll instance made and closed for that one wait: four system calls per request where one
// poll(2) does. The same rules, with that one call.
class HttpSession : public Poco::Net::HTTPServerSession {
 public:
  HttpSession(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params)
      : HTTPServerSession(socket, params),
        keepAliveTimeout_(params->getKeepAliveTimeout()),
        requestsLeft_(params->getMaxKeepAliveRequests()) {}

  bool hasMoreRequests() {
    Poco::Net::StreamSocket& s = socket();
    if (!s.impl()->initialized()) return false;
    Poco::Timespan wait;
    if (first_) {  // as Poco counts: 0 requests allowed means no limit
      first_ = false;
      --requestsLeft_;
      wait = getTimeout();
    } else if (requestsLeft_ != 0 && getKeepAlive()) {
      if (requestsLeft_ > 0) --requestsLeft_;
      wait = keepAliveTimeout_;
    } else {
      return false;
    }
    // Bytes already read, by this session or by TLS, are a request begun.
    if (buffered() > 0) return true;
    if (auto* tls = dynamic_cast<Poco::Net::SecureStreamSocketImpl*>(s.impl());
        tls && tls->available() > 0)
      return true;
    pollfd p{s.impl()->sockfd(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(wait.totalMilliseconds()));
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
  }

  // Poco's, which reads Poco's own count of requests (never counted down here).
  bool canKeepAlive() const { return requestsLeft_ != 0; }

 private:
  const Poco::Timespan keepAliveTimeout_;
  int requestsLeft_;  // after the first request, negative: no limit
  bool first_ = true;
};

// Poco 1.11's HTTPServerConnection::run, with the head limits and the deadline.
class HttpConnection : public Poco::Net::TCPServerConnection {
 public:
  HttpConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                 Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, const HeadLimits& limits,
                 RequestDeadlines& deadlines, HttpConnectionFactory::Refused refused)
      : TCPServerConnection(socket),
        params_(std::move(params)),
        handlers_(std::move(handlers)),
        limits_(limits),
        deadlines_(deadlines),
        refused_(std::move(refused)) {
    slot_.socket = this->socket();
  }

  void run() override {
    HttpSession session(socket(), params_);
    // Registered only while the session lives: its end closes the socket, and the watch must
    // never shut a file descriptor number that may already belong to another connection.
    deadlines_.add(slot_);
    struct Remove {
      RequestDeadlines& d;
      RequestDeadlines::Slot& s;
      ~Remove() { d.remove(s); }
    } remove{deadlines_, slot_};
    ConnectionFacts facts;
    session.attachSessionData(SlotRef{&deadlines_, &slot_, &facts});
    deadlines_.begin(slot_);  // the first request's clock runs from the start (TLS included)
    bool first = true;
    while (!slot_.stopped && session.hasMoreRequests()) {
      if (!first) deadlines_.begin(slot_);  // a kept-alive connection: from the next byte
      first = false;
      std::optional<HeadRefusal> refusal;
      bool handled = false;  // the handler ran: it answered, whatever happened after
      try {
        if (serve(session, refusal, handled)) continue;
      } catch (const Poco::Net::NoMessageException&) {
        // The client closed the connection, or sent nothing before the timeout.
      } catch (const Poco::Net::MessageException& e) {
        if (!session.networkException()) refusal = headRefusal(e, limits_);
      } catch (const Poco::Exception&) {
        // The connection failed (reset, TLS error, read timeout): nothing to answer.
      }
      if (!handled && deadlines_.expired(slot_)) refusal = timeoutRefusal(deadlines_.limit());
      if (refusal) answer(session, *refusal);
      break;
    }
  }

 private:
  // Whether the request has a body to wait for (as Poco 1.11's HTTPServerRequestImpl reads it:
  // chunked, a Content-Length, or until the end of the connection for a method that has one).
  static bool hasBody(const Poco::Net::HTTPRequest& request) {
    if (request.getChunkedTransferEncoding()) return true;
    if (request.hasContentLength()) return request.getContentLength64() > 0;
    const std::string& m = request.getMethod();
    return m != Poco::Net::HTTPRequest::HTTP_GET && m != Poco::Net::HTTPRequest::HTTP_HEAD &&
           m != Poco::Net::HTTPRequest::HTTP_DELETE;
  }

  // One request: true when it was served and the connection may go on; false when the
  // connection ends, with `refusal` set if the head is over the limits.
  bool serve(HttpSession& session, std::optional<HeadRefusal>& refusal, bool& handled) {
    Poco::Net::HTTPServerResponseImpl response(session);
    Poco::Net::HTTPServerRequestImpl request(response, session, params_);  // reads the head
    // Cut by the deadline: Poco takes a head that ends without its empty line as complete.
    if (deadlines_.expired(slot_)) return false;
    if ((refusal = checkHead(request, limits_))) return false;
    if (!hasBody(request)) deadlines_.end(slot_);  // complete once its head is read
    response.setDate(Poco::Timestamp());
    response.setVersion(request.getVersion());
    response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() &&
                          session.canKeepAlive());
    const std::string& server = params_->getSoftwareVersion();
    if (!server.empty()) response.set("Server", server);
    std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(
        handlers_->createRequestHandler(request));
    if (request.getExpectContinue() && response.getStatus() == HTTPResponse::HTTP_OK)
      response.sendContinue();
    handled = true;
    handler->handleRequest(request, response);
    session.setKeepAlive(params_->getKeepAlive() && response.getKeepAlive() &&
                         session.canKeepAlive());
    // Past the deadline the connection ends (the handler answered 408 if it still could).
    return deadlines_.end(slot_) && !slot_.stopped;
  }

  // A problem+json answer of the connection's own, then the connection ends.
  void answer(Poco::Net::HTTPServerSession& session, const HeadRefusal& refusal) {
    try {
      Poco::Net::HTTPServerResponseImpl response(session);
      response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
      response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(refusal.status));
      response.setDate(Poco::Timestamp());
      const std::string& server = params_->getSoftwareVersion();
      if (!server.empty()) response.set("Server", server);
      response.setKeepAlive(false);
      response.setContentType("application/problem+json");
      std::string body = problemJson(refusal.problem, refusal.status);
      response.setContentLength64(static_cast<Poco::Int64>(body.size()));
      // send(), not sendBuffer(): without a parsed request Poco's sendBuffer writes no body.
      std::ostream& out = response.send();
      out.write(body.data(), static_cast<std::streamsize>(body.size()));
      out.flush();
      session.setKeepAlive(false);
    } catch (const Poco::Exception&) {
      // The client is gone, or its TLS session cannot carry the answer: it is just closed.
    }
    try {
      if (refused_) refused_(socket().peerAddress(), refusal);
    } catch (const Poco::Exception&) {
      // No peer address any more: not told.
    }
    if (refusal.status != 408) lingerAndDrain(socket());
  }

  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  const HeadLimits limits_;
  RequestDeadlines& deadlines_;
  const HttpConnectionFactory::Refused refused_;
  RequestDeadlines::Slot slot_;
};

}  // namespace

HttpConnectionFactory::HttpConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                                             Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                                             HeadLimits limits, RequestDeadlines& deadlines,
                                             Refused refused)
    : params_(std::move(params)),
      handlers_(std::move(handlers)),
      limits_(limits),
      deadlines_(deadlines),
      refused_(std::move(refused)) {}

Poco::Net::TCPServerConnection* HttpConnectionFactory::createConnection(
    const Poco::Net::StreamSocket& socket) {
  return new HttpConnection(socket, params_, handlers_, limits_, deadlines_, refused_);
}

}  // namespace dx
