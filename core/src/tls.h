#pragma once
// TLS contexts for the hub's server and for mTLS clients (dxhub send, connectors, tests), set
// up once here: TLS 1.2 minimum, a short modern cipher list, the CA and revocation list as the
// only trust, and certificate errors fatal (no "accept anyway").
#include <string>

#include <Poco/Net/Context.h>

namespace dx {

struct TlsFiles {
  std::string cert, key;  // our own certificate and key (a client may have none)
  std::string ca;         // trust anchors (PEM)
  std::string crl;        // revocation list (PEM), optional
};

// The hub's server context: client certificates requested (not required: /healthz answers
// without one; /v1 checks per request), verified against `ca` and the CRL, the session cache on
// with a session-id context so clients that present certificates can resume.
Poco::Net::Context::Ptr makeServerContext(const TlsFiles& files);

// A client context that verifies the server against `ca` (and its CRL) and presents `cert`.
Poco::Net::Context::Ptr makeClientContext(const TlsFiles& files);

}  // namespace dx
