#include "tls.h"

#include <cstdio>
#include <mutex>
#include <stdexcept>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>

namespace dx {

namespace {

// TLS 1.2 suites (TLS 1.3 has its own, all modern): forward secrecy and AEAD only.
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";

// Poco asks SSLManager's handler what to do with a certificate that fails verification: refuse.
void installRejectHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(
        new Poco::Net::RejectCertificateHandler(false));
    Poco::Net::SSLManager::instance().initializeServer(nullptr, reject, nullptr);
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, nullptr);
  });
}

void addCrl(Poco::Net::Context& ctx, const std::string& crlPath) {
  if (crlPath.empty()) return;
  FILE* f = std::fopen(crlPath.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open CRL " + crlPath);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.sslContext());
  int count = 0;
  while (X509_CRL* crl = PEM_read_X509_CRL(f, nullptr, nullptr, nullptr)) {
    X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    ++count;
  }
  std::fclose(f);
  if (count == 0) throw std::runtime_error("no PEM CRL in " + crlPath);
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
}

Poco::Net::Context::Params params(const TlsFiles& files) {
  Poco::Net::Context::Params p;
  p.privateKeyFile = files.key;
  p.certificateFile = files.cert;
  p.caLocation = files.ca;
  p.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
  p.verificationDepth = 4;
  p.loadDefaultCAs = false;
  p.cipherList = kCiphers;
  return p;
}

}  // namespace

Poco::Net::Context::Ptr makeServerContext(const TlsFiles& files) {
  installRejectHandler();
  Poco::Net::Context::Ptr ctx =
      new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params(files));
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->enableExtendedCertificateVerification(false);  // we authorize by SAN URI, not address
  ctx->enableSessionCache(true, "dxhub");
  ctx->setSessionCacheSize(20000);
  ctx->setSessionTimeout(3600);
  ctx->preferServerCiphers();
  // A connection whose reading side ends without TLS close_notify (the request deadline shuts
  // it, http_connection.h) reads as the end of input, as in nginx, instead of a fatal TLS error
  // that would leave no way to write the 408. HTTP's own framing still tells a cut request.
  // No renegotiation: a connection's client certificate is the one of its handshake, so the
  // hub works out who the client is once per connection (connectionClient).
  SSL_CTX_set_options(ctx->sslContext(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  addCrl(*ctx, files.crl);
  return ctx;
}

Poco::Net::Context::Ptr makeClientContext(const TlsFiles& files) {
  installRejectHandler();
  Poco::Net::Context::Ptr ctx =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params(files));
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->enableSessionCache(true);
  addCrl(*ctx, files.crl);
  return ctx;
}

}  // namespace dx
