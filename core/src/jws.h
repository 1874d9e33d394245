#pragma once
// Signed messages: JWS flattened JSON serialization (RFC 7515 §7.2.2) of a dxhub envelope.
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "certificate.h"
#include "crypto.h"
#include "expected.h"
#include "registry.h"
#include "strict_json.h"

namespace dx {

// Signs envelopes as one participant: its key, its certificate, its id as `kid`. The protected
// header is made once. Thread-safe.
class Signer {
 public:
  Signer(PkeyPtr key, Certificate cert);  // throws if the key does not match the certificate
  static Signer fromFiles(const std::string& keyPath, const std::string& certPath);

  // {"protected":…,"payload":…,"signature":…} over the exact bytes of `payloadJson`.
  std::string sign(std::string_view payloadJson) const;
  const std::string& participantId() const { return cert_.participantId(); }
  const Certificate& certificate() const { return cert_; }
  JwsAlg alg() const { return alg_; }

 private:
  PkeyPtr key_;
  Certificate cert_;
  JwsAlg alg_;
  std::string protectedB64_;
};

// The three parts of a flattened JWS, decoded.
struct JwsParts {
  std::string signingInput;  // protected + "." + payload, as sent (the digest is over this)
  std::string header;        // decoded protected header JSON
  std::string payload;       // decoded payload bytes
  std::string signature;     // decoded signature bytes
};

// Splits a flattened JWS (strict JSON, exactly the members protected, payload, signature) into
// its parts; Problem{"malformed"} otherwise.
Expected<JwsParts> splitJws(std::string_view text, const JsonLimits& limits);

// A message whose signature, key and certificate have been checked.
struct VerifiedMessage {
  std::string jws;      // exact bytes received
  std::string digest;   // hex SHA-256 of the signing input
  std::string payload;  // the envelope's JSON text
  rapidjson::Document envelope;
  const RegisteredKey* key = nullptr;  // sender's registered certificate

  std::string_view field(const char* name) const;  // top-level string field, or empty
  std::string_view id() const { return field("id"); }
  std::string_view type() const { return field("type"); }
  std::string_view from() const { return field("from"); }
  std::string_view to() const { return field("to"); }
  std::string_view ref() const { return field("ref"); }
  std::string_view caseId() const { return field("case"); }
  std::string_view created() const { return field("created"); }
  const Participant& sender() const { return *key->participant; }
};

// DESIGN §5 "parse" and "verify": strict parse, header rules (alg allow-list, no crit, no
// jku/x5u/jwk/x5c, kid and x5t#S256 present), kid → registered certificate by x5t#S256, chain,
// revocation and validity, the signature, and `from` = `kid`. Problems: malformed,
// bad_signature, unknown_key, cert_invalid.
Expected<VerifiedMessage> verifyJws(std::string_view text, const Registry& registry,
                                    std::time_t now, const JsonLimits& limits = {});

}  // namespace dx
