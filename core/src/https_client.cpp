#include "dx/https_client.h"

#include <chrono>
#include <istream>
#include <mutex>
#include <vector>

#include <openssl/x509v3.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/URI.h>

#include "tls.h"

namespace dx {

namespace {

// Idle keep-alive sessions kept for reuse; more concurrent callers get sessions of their own that
// are closed after use.
constexpr std::size_t kMaxIdleSessions = 8;
// A session idle longer than this is closed rather than reused: servers close idle connections
// after a few seconds (Poco's own client default is 8 s).
constexpr auto kMaxIdle = std::chrono::seconds(8);
// An answer larger than this is not one a bank or office sends; reading stops there.
constexpr std::size_t kMaxAnswerBytes = 8u << 20;

// Names the failure so that an operator can act on it without a stack trace.
std::string describe(const Poco::Exception& e, int timeoutMs) {
  using namespace Poco::Net;
  if (dynamic_cast<const Poco::TimeoutException*>(&e))
    return "timeout: no answer within " + std::to_string(timeoutMs) + " ms (" + e.displayText() +
           ")";
  if (dynamic_cast<const ConnectionRefusedException*>(&e)) return "connection refused";
  if (dynamic_cast<const ConnectionResetException*>(&e)) return "connection reset by the server";
  if (dynamic_cast<const NoMessageException*>(&e))
    return "the server closed the connection without answering";
  if (dynamic_cast<const MessageException*>(&e))
    return "the answer is not HTTP (" + e.displayText() + ")";
  if (dynamic_cast<const CertificateValidationException*>(&e) ||
      dynamic_cast<const InvalidCertificateException*>(&e))
    return "TLS: the server's certificate is not accepted (" + e.displayText() + ")";
  if (dynamic_cast<const SSLConnectionUnexpectedlyClosedException*>(&e))
    return "TLS: the server closed the connection (" + e.displayText() + ")";
  if (dynamic_cast<const SSLException*>(&e)) {
    if (e.displayText().find("certificate verify failed") != std::string::npos)
      return "TLS: the server's certificate does not chain to our CA, or is revoked or expired (" +
             e.displayText() + ")";
    return "TLS failed (" + e.displayText() + ")";
  }
  return e.displayText();
}

bool isTimeout(const Poco::Exception& e) {
  return dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr;
}

// Poco's HTTPS session with the connection made explicitly: TCP connect within the connection
// timeout, then the TLS handshake within the read timeout, then the server's name checked against
// its certificate, all before any request byte is sent. (Left to itself, Poco finishes a stalled
// handshake inside the first write and skips its name check on that path.)
class Session : public Poco::Net::HTTPSClientSession {
 public:
  Session(const std::string& host, Poco::UInt16 port, Poco::Net::Context::Ptr context)
      : HTTPSClientSession(host, port, context) {}

  void open() {
    Poco::Net::SecureStreamSocket tls(socket());
    tls.setLazyHandshake(true);
    reconnect();
    if (tls.completeHandshake() != 1)
      throw Poco::Net::SSLConnectionUnexpectedlyClosedException("during the TLS handshake");
    if (!tls.havePeerCertificate())
      throw Poco::Net::CertificateValidationException("the server presented no certificate");
    X509* cert = const_cast<X509*>(tls.peerCertificate().certificate());
    const std::string& host = getHost();
    Poco::Net::IPAddress ip;
    bool named = Poco::Net::IPAddress::tryParse(host, ip)
                     ? X509_check_ip_asc(cert, host.c_str(), 0) == 1
                     : X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
    if (!named)
      throw Poco::Net::CertificateValidationException("the server's certificate does not name " +
                                                      host);
  }

  std::chrono::steady_clock::time_point lastUsed;
};

}  // namespace

struct HttpsClient::Impl {
  std::string url;   // the base URL as given, for messages
  std::string host;  // from the URL; the server's certificate must name it
  Poco::UInt16 port = 443;
  int timeoutMs = 10000;
  Poco::Net::Context::Ptr context;

  std::mutex mutex;
  std::vector<std::unique_ptr<Session>> idle;  // most recently used last

  // An idle session (reused = true), or a new one, connected.
  std::unique_ptr<Session> acquire(bool& reused) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      const auto now = std::chrono::steady_clock::now();
      while (!idle.empty()) {
        std::unique_ptr<Session> s = std::move(idle.back());
        idle.pop_back();
        // A kept-alive connection the server has closed (or sent something unasked on) shows as
        // readable: drop it instead of finding out halfway through a request.
        bool stale = now - s->lastUsed > kMaxIdle;
        try {
          stale = stale || !s->connected() ||
                  s->socket().poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ |
                                                          Poco::Net::Socket::SELECT_ERROR);
        } catch (const Poco::Exception&) {
          stale = true;
        }
        if (stale) continue;
        reused = true;
        return s;
      }
    }
    reused = false;
    return fresh();
  }

  std::unique_ptr<Session> fresh() {
    auto s = std::make_unique<Session>(host, port, context);
    // Poco's TLS reads wait twice for a silent peer: once in the blocking read (SO_RCVTIMEO) and
    // again in its retry poll. Half the timeout for each keeps a stall near timeoutMs in all.
    Poco::Timespan half(static_cast<long>(timeoutMs) * 500);
    s->setTimeout(Poco::Timespan(static_cast<long>(timeoutMs) * 1000), half, half);
    s->setKeepAlive(true);
    // Never let Poco reconnect by itself (it would skip open()); idle sessions are dropped here.
    s->setKeepAliveTimeout(Poco::Timespan(24 * 3600, 0));
    s->open();
    return s;
  }

  void release(std::unique_ptr<Session> s) {
    s->lastUsed = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex);
    if (idle.size() < kMaxIdleSessions) idle.push_back(std::move(s));
  }

  // One request on one session. Poco and socket failures escape as Poco::Exception; `keep` says
  // whether the session may be kept alive.
  HttpResponse once(Session& s, const std::string& method, const std::string& path,
                    const std::string* contentType, const std::string* body, bool& keep) {
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost(host, port);
    request.setKeepAlive(true);
    if (body) {
      request.setContentType(*contentType);
      request.setContentLength64(static_cast<Poco::Int64>(body->size()));
    }
    std::ostream& out = s.sendRequest(request);
    if (body) out.write(body->data(), static_cast<std::streamsize>(body->size()));
    out.flush();
    // The streams swallow socket errors (and keep them in the session): surface the real one.
    if (const Poco::Exception* e = s.networkException()) e->rethrow();
    if (!out) throw Poco::IOException("sending the request failed");

    Poco::Net::HTTPResponse response;
    std::istream& in = s.receiveResponse(response);
    HttpResponse r;
    r.status = static_cast<int>(response.getStatus());
    r.contentType = response.getContentType();
    if (response.hasContentLength() &&
        response.getContentLength64() > static_cast<Poco::Int64>(kMaxAnswerBytes))
      throw Poco::DataFormatException("the answer is larger than " +
                                      std::to_string(kMaxAnswerBytes) + " bytes");
    char buf[16384];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      r.body.append(buf, static_cast<std::size_t>(in.gcount()));
      if (r.body.size() > kMaxAnswerBytes)
        throw Poco::DataFormatException("the answer is larger than " +
                                        std::to_string(kMaxAnswerBytes) + " bytes");
    }
    // A stream that stopped early (timeout, reset) leaves the session's exception set.
    if (const Poco::Exception* e = s.networkException()) e->rethrow();
    if (response.hasContentLength() &&
        static_cast<Poco::Int64>(r.body.size()) != response.getContentLength64())
      throw Poco::Net::MessageException("the answer ended after " + std::to_string(r.body.size()) +
                                        " of " + std::to_string(response.getContentLength64()) +
                                        " bytes");
    keep = response.getKeepAlive();
    return r;
  }

  HttpResponse exchange(const std::string& method, const std::string& path,
                        const std::string* contentType, const std::string* body) {
    const std::string what = method + " " + url + path + ": ";
    try {
      bool reused = false;
      std::unique_ptr<Session> s = acquire(reused);
      for (;;) {
        try {
          bool keep = false;
          HttpResponse r = once(*s, method, path, contentType, body, keep);
          if (keep) release(std::move(s));
          return r;
        } catch (const Poco::Exception& e) {
          // A kept-alive connection can be closed by the server at any moment: one fresh try.
          // Not after a timeout: the server is slow, not gone, and waiting twice helps nobody.
          // (A server that took the request and then failed may see it twice; requests carry
          // message ids, so receivers recognise a repeat.)
          if (!reused || isTimeout(e)) throw;
          reused = false;
          s = fresh();
        }
      }
    } catch (const Poco::Exception& e) {
      throw TransportError(what + describe(e, timeoutMs));
    } catch (const std::exception& e) {
      throw TransportError(what + e.what());
    } catch (...) {
      throw TransportError(what + "unknown failure");
    }
  }
};

HttpsClient::HttpsClient(const std::string& baseUrl, const TlsIdentity& identity, int timeoutMs)
    : impl_(std::make_unique<Impl>()) {
  impl_->url = baseUrl;
  impl_->timeoutMs = timeoutMs > 0 ? timeoutMs : 10000;
  try {
    Poco::URI uri(baseUrl);
    if (uri.getScheme() != "https" || uri.getHost().empty())
      throw TransportError("base URL " + baseUrl + " is not https://HOST[:PORT]");
    if (!uri.getQuery().empty() || !uri.getFragment().empty())
      throw TransportError("base URL " + baseUrl + " must not have a query or fragment");
    impl_->host = uri.getHost();
    impl_->port = uri.getPort();
    // Only the origin is used: callers give each request's full path (a connector whose endpoint
    // URL has a path of its own prefixes it, as bank_freeze and dm_notices do).
    impl_->context = makeClientContext({identity.cert, identity.key, identity.ca, identity.crl});
  } catch (const TransportError&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw TransportError("HTTPS client for " + baseUrl + ": " + e.displayText());
  } catch (const std::exception& e) {
    throw TransportError("HTTPS client for " + baseUrl + ": " + e.what());
  }
}

HttpsClient::~HttpsClient() = default;

HttpResponse HttpsClient::post(const std::string& path, const std::string& contentType,
                               const std::string& body) {
  return impl_->exchange(Poco::Net::HTTPRequest::HTTP_POST, path, &contentType, &body);
}

HttpResponse HttpsClient::get(const std::string& path) {
  return impl_->exchange(Poco::Net::HTTPRequest::HTTP_GET, path, nullptr, nullptr);
}

}  // namespace dx
