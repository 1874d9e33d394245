#include "crypto.h"

#include <cstdio>
#include <stdexcept>
#include <vector>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

namespace dx {
namespace {

std::string opensslError() {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown OpenSSL error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

constexpr std::size_t kP256Half = 32;

// JWS ES256 R‖S (64 bytes) → OpenSSL DER.
std::optional<std::string> rawToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256Half) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), kP256Half, nullptr);
  BIGNUM* s =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + kP256Half, kP256Half, nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// OpenSSL DER → JWS ES256 R‖S.
std::string derToRaw(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) throw std::runtime_error("ES256: OpenSSL produced an unreadable signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(2 * kP256Half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  bool ok = BN_bn2binpad(r, out, kP256Half) == kP256Half &&
            BN_bn2binpad(s, out + kP256Half, kP256Half) == kP256Half;
  ECDSA_SIG_free(sig);
  if (!ok) throw std::runtime_error("ES256: signature component too large");
  return raw;
}

}  // namespace

std::optional<JwsAlg> parseJwsAlg(std::string_view name) {
  if (name == "EdDSA" || name == "Ed25519") return JwsAlg::Ed25519;
  if (name == "ES256") return JwsAlg::ES256;
  return std::nullopt;
}

const char* jwsAlgName(JwsAlg alg) {
  return alg == JwsAlg::Ed25519 ? "EdDSA" : "ES256";
}

std::optional<JwsAlg> keyAlg(EVP_PKEY* key) {
  if (!key) return std::nullopt;
  if (EVP_PKEY_is_a(key, "ED25519")) return JwsAlg::Ed25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) &&
        std::string_view(group) == "prime256v1")
      return JwsAlg::ES256;
  }
  return std::nullopt;
}

PkeyPtr loadPrivateKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open private key " + path);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key) throw std::runtime_error("cannot read private key " + path + ": " + opensslError());
  PkeyPtr ptr(key, PkeyFree{});
  if (!keyAlg(key))
    throw std::runtime_error("private key " + path + " is neither Ed25519 nor P-256");
  return ptr;
}

namespace {

// ES256 the way `openssl speed` measures it: SHA-256, then the raw ECDSA sign with a context
// prepared once per key and thread (setting one up costs as much as half a signature in
// OpenSSL 3). Each cached context holds a reference to its key, so a pointer in the cache
// always names the key it was made for: finding it there also says the key is P-256, without
// asking OpenSSL again (its name lookups took 5 % of a signature).
struct Es256Contexts {
  struct Cached {
    EVP_PKEY* key;
    EVP_PKEY_CTX* ctx;
  };
  std::vector<Cached> entries;
  ~Es256Contexts() {
    for (Cached& c : entries) EVP_PKEY_CTX_free(c.ctx);
  }
  EVP_PKEY_CTX* find(EVP_PKEY* key) const {
    for (const Cached& c : entries)
      if (c.key == key) return c.ctx;
    return nullptr;
  }
  EVP_PKEY_CTX* add(EVP_PKEY* key) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1) {
      EVP_PKEY_CTX_free(ctx);
      throw std::runtime_error("signing failed: " + opensslError());
    }
    if (entries.size() >= 8) {
      EVP_PKEY_CTX_free(entries.front().ctx);
      entries.erase(entries.begin());
    }
    entries.push_back({key, ctx});
    return ctx;
  }
};
thread_local Es256Contexts es256Contexts;

std::string signEs256(EVP_PKEY_CTX* ctx, std::string_view data) {
  std::string hash = sha256(data);
  unsigned char der[80];
  std::size_t len = sizeof der;
  if (EVP_PKEY_sign(ctx, der, &len, reinterpret_cast<const unsigned char*>(hash.data()),
                    hash.size()) != 1)
    throw std::runtime_error("signing failed: " + opensslError());
  return derToRaw({reinterpret_cast<char*>(der), len});
}

}  // namespace

std::string signBytes(EVP_PKEY* key, std::string_view data) {
  if (EVP_PKEY_CTX* ctx = es256Contexts.find(key)) return signEs256(ctx, data);
  std::optional<JwsAlg> alg = keyAlg(key);
  if (!alg) throw std::runtime_error("signing key is neither Ed25519 nor P-256");
  if (*alg == JwsAlg::ES256) return signEs256(es256Contexts.add(key), data);
  // Ed25519: one-shot EVP_DigestSign with no digest; the signature is the 64 raw bytes.
  MdCtx md;
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  if (!md.ctx || EVP_DigestSignInit(md.ctx, nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(md.ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    throw std::runtime_error("signing failed: " + opensslError());
  sig.resize(len);
  return sig;
}

bool verifyBytes(JwsAlg alg, EVP_PKEY* key, std::string_view data, std::string_view signature) {
  if (keyAlg(key) != alg) return false;
  std::string der;
  if (alg == JwsAlg::ES256) {
    std::optional<std::string> converted = rawToDer(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  } else if (signature.size() != 64) {
    return false;
  }
  MdCtx md;
  const EVP_MD* digest = alg == JwsAlg::ES256 ? EVP_sha256() : nullptr;
  bool ok = md.ctx && EVP_DigestVerifyInit(md.ctx, nullptr, digest, nullptr, key) == 1 &&
            EVP_DigestVerify(md.ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hexLower(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace dx
