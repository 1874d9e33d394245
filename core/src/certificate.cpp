#include "certificate.h"

#include <cstdio>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base64url.h"

namespace dx {
namespace {

constexpr std::string_view kParticipantUri = "urn:dx:participant:";

std::time_t asnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

FILE* openOrThrow(const std::string& path, const char* what) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(std::string("cannot open ") + what + " " + path);
  return f;
}

}  // namespace

std::string participantIdOf(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return {};
  std::string id;
  int found = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                          static_cast<std::size_t>(ASN1_STRING_length(uri)));
    if (text.substr(0, kParticipantUri.size()) != kParticipantUri) continue;
    id = text.substr(kParticipantUri.size());
    ++found;
  }
  GENERAL_NAMES_free(names);
  return found == 1 ? id : std::string();
}

Certificate::Certificate(X509* owned) : x509_(owned, X509_free) {
  if (!owned) throw std::invalid_argument("null certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(owned, &der);
  if (len <= 0) throw std::runtime_error("certificate cannot be DER-encoded");
  der_.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  thumbprint_ = base64urlEncode(sha256(der_));
  key_ = PkeyPtr(X509_get_pubkey(owned), PkeyFree{});
  participantId_ = participantIdOf(owned);
  notBefore_ = asnTime(X509_get0_notBefore(owned));
  notAfter_ = asnTime(X509_get0_notAfter(owned));
}

Certificate Certificate::fromPemFile(const std::string& path) {
  std::vector<Certificate> all = allFromPemFile(path);
  return all.front();
}

std::vector<Certificate> Certificate::allFromPemFile(const std::string& path) {
  FILE* f = openOrThrow(path, "certificate");
  std::vector<Certificate> out;
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) out.emplace_back(x);
  std::fclose(f);
  ERR_clear_error();  // the read that ends the loop leaves "no start line" behind
  if (out.empty()) throw std::runtime_error("no PEM certificate in " + path);
  return out;
}

std::string Certificate::subject() const {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(x509_.get()), buf, sizeof buf);
  return buf;
}

TrustStore::TrustStore(const std::string& caPath, const std::string& crlPath)
    : store_(X509_STORE_new(), X509_STORE_free), caPath_(caPath), crlPath_(crlPath) {
  for (const Certificate& ca : Certificate::allFromPemFile(caPath))
    if (X509_STORE_add_cert(store_.get(), ca.x509()) != 1)
      throw std::runtime_error("cannot add CA certificate from " + caPath);
  if (!crlPath.empty()) {
    FILE* f = openOrThrow(crlPath, "CRL");
    int count = 0;
    while (X509_CRL* crl = PEM_read_X509_CRL(f, nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store_.get(), crl);
      X509_CRL_free(crl);
      ++count;
    }
    std::fclose(f);
    ERR_clear_error();
    if (count == 0) throw std::runtime_error("no PEM CRL in " + crlPath);
    X509_STORE_set_flags(store_.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
}

std::optional<std::string> TrustStore::verify(const Certificate& cert, std::time_t at) const {
  return check(cert, at, true);
}

std::optional<std::string> TrustStore::verifyChain(const Certificate& cert) const {
  return check(cert, 0, false);
}

std::optional<std::string> TrustStore::check(const Certificate& cert, std::time_t at,
                                             bool checkTime) const {
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  if (!ctx || X509_STORE_CTX_init(ctx, store_.get(), cert.x509(), nullptr) != 1) {
    X509_STORE_CTX_free(ctx);
    return "certificate check could not start";
  }
  if (checkTime)
    X509_STORE_CTX_set_time(ctx, 0, at);
  else
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
  int ok = X509_verify_cert(ctx);
  int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  ERR_clear_error();
  if (ok == 1) return std::nullopt;
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate is not yet valid";
    case X509_V_ERR_CERT_REVOKED:
      return "certificate is revoked";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "certificate is not issued by the district's CA";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return "no revocation list for the certificate's issuer";
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return "the revocation list has expired";
    default:
      return std::string("certificate does not verify: ") + X509_verify_cert_error_string(err);
  }
}

}  // namespace dx
