#pragma once
// HTTPS client with a client certificate (mutual TLS), for connectors that push to banks and
// offices and for a station forwarding to the district hub. Written once, in the core.
#include <memory>
#include <stdexcept>
#include <string>

#include "dx/connector.h"

namespace dx {

// A transport failure (refused, reset, timeout, TLS failure, garbage instead of HTTP): the
// connector usually answers Retry. An HTTP status is never a TransportError.
struct TransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct HttpResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

// Thread-safe. Keeps keep-alive sessions to one server (a small pool: one per concurrent
// caller), reconnecting when one has gone stale.
class HttpsClient {
 public:
  // `baseUrl` like https://127.0.0.1:9443: only its scheme, host and port are used (callers
  // give whole paths). The server must chain to identity.ca (and not be on identity.crl) and
  // present a certificate naming the URL's host; identity.cert/key are ours.
  HttpsClient(const std::string& baseUrl, const TlsIdentity& identity, int timeoutMs = 10000);
  ~HttpsClient();
  HttpResponse post(const std::string& path, const std::string& contentType,
                    const std::string& body);
  HttpResponse get(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dx
