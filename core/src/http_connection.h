#pragma once
// dxhub's HTTP connection, in place of Poco::Net::HTTPServerConnection: the same keep-alive loop
// (Poco 1.11's), plus
//  - limits on the request head answered as problem+json — 431 `too_large` for too many or too
//    large header fields, 414 `too_large` for a long URI — where Poco's own parser sends a bare
//    400 before any handler runs;
//  - a deadline for each request, from its first byte until its body is read (RequestDeadlines):
//    a client that trickles its request, a byte just inside the read timeout each time, is cut
//    off instead of holding a connection thread for ever.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include "problem.h"

namespace dx {

struct HeadLimits {
  int maxFields = 100;                 // Poco's parser refuses a 101st field in any case
  std::size_t maxHeaderBytes = 32768;  // names and values of all fields together
  std::size_t maxUriBytes = 8192;      // Poco's parser: 16384 at most
};

// A request refused by the connection itself, before any handler: status and problem.
struct HeadRefusal {
  int status;
  Problem problem;
};

// The refusal of a parsed head over `limits`, if any.
std::optional<HeadRefusal> checkHead(const Poco::Net::HTTPRequest& request,
                                     const HeadLimits& limits);
// The refusal for a head Poco's parser threw on (by Poco 1.11's messages): 431 or 414
// `too_large` for its size limits, else 400 `malformed`.
HeadRefusal headRefusal(const Poco::Net::MessageException& e, const HeadLimits& limits);
// 408 `timeout` for a request not complete within `deadline`.
HeadRefusal timeoutRefusal(std::chrono::milliseconds deadline);

// The deadline of every open connection's current request. A connection add()s its slot for its
// life, begin()s each request and end()s it when the body is read; a watch thread (every
// `interval`; none if zero) shuts the receiving side of any connection past its deadline, so the
// read it waits in ends at once and the connection answers 408 or closes. Thread-safe.
class RequestDeadlines {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  struct Slot {
    Poco::Net::StreamSocket socket;
    std::optional<std::chrono::steady_clock::time_point> until;  // while a request runs
    bool expired = false;                                        // cut by the watch
    std::atomic<bool> stopped{false};                            // the server is stopping
  };

  RequestDeadlines(std::chrono::milliseconds limit, std::chrono::milliseconds interval,
                   Now now = std::chrono::steady_clock::now);
  ~RequestDeadlines();
  RequestDeadlines(const RequestDeadlines&) = delete;
  RequestDeadlines& operator=(const RequestDeadlines&) = delete;

  std::chrono::milliseconds limit() const { return limit_; }
  void add(Slot& slot);
  void remove(Slot& slot);
  void begin(Slot& slot);
  // Ends the slot's request; false if its deadline had passed (the connection is being cut).
  bool end(Slot& slot);
  bool expired(Slot& slot);
  // Shuts the receiving side of every connection past its deadline; how many it cut.
  int sweep();
  // Stops the watch, marks every connection stopped and shuts it down (the server's stop).
  void stopAll();

 private:
  void watch(std::chrono::milliseconds interval);

  const std::chrono::milliseconds limit_;
  const Now now_;
  std::mutex mutex_;
  std::set<Slot*> slots_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The current request's deadline on the connection that `request` came in on, ended now that
// its body is read: false if it had passed already (answer 408 `timeout`, or nothing).
bool requestDeadlineMet(Poco::Net::HTTPServerRequest& request);

// Who the TLS client of `request`'s connection is, as `find` works it out from the connection's
// client certificate: asked on the connection's first request that needs it, and kept while the
// connection lasts. (The server's TLS context refuses renegotiation, so a connection's client
// certificate is the one of its handshake.) Asked each time on other connections.
std::string connectionClient(Poco::Net::HTTPServerRequest& request,
                             const std::function<std::string()>& find);
// The client's address as text, kept the same way.
std::string connectionPeer(Poco::Net::HTTPServerRequest& request);

// Makes dxhub's connections for a Poco::Net::TCPServer. `refused` is told of every request the
// connection refuses itself (for the log and metrics).
class HttpConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  using Refused = std::function<void(const Poco::Net::SocketAddress& peer, const HeadRefusal&)>;
  HttpConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                        Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, HeadLimits limits,
                        RequestDeadlines& deadlines, Refused refused);
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override;

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  HeadLimits limits_;
  RequestDeadlines& deadlines_;
  Refused refused_;
};

// After answering without reading the rest of a request: half-close and read what the client
// still sends, for a bounded time and size, so a client that writes everything before reading
// still gets the answer instead of a connection reset (a closed socket with unread data makes
// the kernel send RST).
void lingerAndDrain(Poco::Net::StreamSocket& socket);

}  // namespace dx
