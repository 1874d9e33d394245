#pragma once
// X.509 certificates and the trust anchors they are checked against.
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "crypto.h"

namespace dx {

// An immutable certificate. Copies share the underlying X509.
class Certificate {
 public:
  explicit Certificate(X509* owned);                        // takes ownership
  static Certificate fromPemFile(const std::string& path);  // throws, naming the file
  static std::vector<Certificate> allFromPemFile(const std::string& path);  // one or more

  X509* x509() const { return x509_.get(); }
  EVP_PKEY* publicKey() const { return key_.get(); }
  const std::string& der() const { return der_; }
  // base64url SHA-256 of the DER: the JWS `x5t#S256` header value.
  const std::string& thumbprint() const { return thumbprint_; }
  // The participant id from the one SAN URI `urn:dx:participant:<id>`; empty if there is none
  // or more than one (never taken from the CN).
  const std::string& participantId() const { return participantId_; }
  std::string subject() const;
  std::time_t notBefore() const { return notBefore_; }
  std::time_t notAfter() const { return notAfter_; }

 private:
  std::shared_ptr<X509> x509_;
  PkeyPtr key_;
  std::string der_, thumbprint_, participantId_;
  std::time_t notBefore_ = 0, notAfter_ = 0;
};

// Participant id named by a certificate's SAN URIs, or empty (see Certificate::participantId).
std::string participantIdOf(X509* cert);

// The trust anchors and the revocation list. Immutable once built; thread-safe.
class TrustStore {
 public:
  // `caPath`: PEM with one or more CA certificates; `crlPath` may be empty (no CRL).
  TrustStore(const std::string& caPath, const std::string& crlPath);
  // nullopt when `cert` chains to an anchor, is within its validity at `at` and is not revoked;
  // otherwise the reason in words ("certificate has expired", "certificate is revoked", ...).
  std::optional<std::string> verify(const Certificate& cert, std::time_t at) const;
  // The same check without validity times: chain and revocation only. The registry checks each
  // certificate this way once at start-up, and its validity window on every message.
  std::optional<std::string> verifyChain(const Certificate& cert) const;
  const std::string& caPath() const { return caPath_; }
  const std::string& crlPath() const { return crlPath_; }

 private:
  std::optional<std::string> check(const Certificate& cert, std::time_t at, bool checkTime) const;
  std::shared_ptr<X509_STORE> store_;
  std::string caPath_, crlPath_;
};

}  // namespace dx
