#pragma once
// Keys, digests and JOSE signatures through the OpenSSL 3 EVP API. Keys are immutable once
// loaded and may be used from several threads at once.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace dx {

// The JWS algorithms dxhub accepts (DESIGN §4); nothing else, `none` never.
enum class JwsAlg { Ed25519, ES256 };

// "EdDSA" and "Ed25519" (RFC 8037, RFC 9864) name Ed25519; "ES256" names P-256. Anything else,
// in any case, is nullopt.
std::optional<JwsAlg> parseJwsAlg(std::string_view name);
const char* jwsAlgName(JwsAlg alg);  // the name dxhub writes: "EdDSA" or "ES256"

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::shared_ptr<EVP_PKEY>;

// The algorithm a key signs with, or nullopt for a key type dxhub does not use.
std::optional<JwsAlg> keyAlg(EVP_PKEY* key);

// Reads a PEM private key (PKCS#8); throws std::runtime_error naming the file on failure.
PkeyPtr loadPrivateKey(const std::string& path);

// Signs `data` with `key`. ES256 signatures come back as the raw 64-byte R‖S of JWS, not DER.
// Throws std::runtime_error only if OpenSSL itself fails.
std::string signBytes(EVP_PKEY* key, std::string_view data);

// True when `signature` is a valid `alg` signature of `data` under `key`. A key of another type
// than `alg` names, a DER-encoded ES256 signature or any wrong length is false.
bool verifyBytes(JwsAlg alg, EVP_PKEY* key, std::string_view data, std::string_view signature);

std::string sha256(std::string_view data);  // 32 raw bytes
std::string hexLower(std::string_view bytes);

}  // namespace dx
