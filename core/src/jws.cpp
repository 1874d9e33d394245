#include "jws.h"

#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base64url.h"

namespace dx {

namespace {

std::string headerJson(JwsAlg alg, const std::string& kid, const std::string& thumbprint) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("alg");
  w.String(jwsAlgName(alg));
  w.Key("kid");
  w.String(kid);
  w.Key("x5t#S256");
  w.String(thumbprint);
  w.EndObject();
  return buf.GetString();
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

Problem malformed(std::string detail) {
  return {"malformed", std::move(detail)};
}
Problem badSignature(std::string detail) {
  return {"bad_signature", std::move(detail)};
}

// Header parameters a sender may use. Anything else is refused: `crit` (RFC 7515 §4.1.11 lets
// us refuse what we do not understand), and keys by reference or embedded (jku, x5u, jwk, x5c),
// which would let a sender choose the key it is checked with.
constexpr const char* kAllowedHeader[] = {"alg", "kid", "x5t#S256", "typ", "cty"};

}  // namespace

Signer::Signer(PkeyPtr key, Certificate cert) : key_(std::move(key)), cert_(std::move(cert)) {
  std::optional<JwsAlg> alg = keyAlg(key_.get());
  if (!alg) throw std::runtime_error("signing key is neither Ed25519 nor P-256");
  if (EVP_PKEY_eq(key_.get(), cert_.publicKey()) != 1)
    throw std::runtime_error("signing key does not belong to certificate " + cert_.subject());
  if (cert_.participantId().empty())
    throw std::runtime_error("certificate " + cert_.subject() +
                             " names no participant (SAN URI urn:dx:participant:<id>)");
  alg_ = *alg;
  protectedB64_ = base64urlEncode(headerJson(alg_, cert_.participantId(), cert_.thumbprint()));
}

Signer Signer::fromFiles(const std::string& keyPath, const std::string& certPath) {
  return Signer(loadPrivateKey(keyPath), Certificate::fromPemFile(certPath));
}

std::string Signer::sign(std::string_view payloadJson) const {
  std::string payloadB64 = base64urlEncode(payloadJson);
  std::string input;
  input.reserve(protectedB64_.size() + 1 + payloadB64.size());
  input.append(protectedB64_).append(".").append(payloadB64);
  std::string sig = base64urlEncode(signBytes(key_.get(), input));
  std::string out;
  out.reserve(input.size() + sig.size() + 48);
  out.append(R"({"protected":")").append(protectedB64_);
  out.append(R"(","payload":")").append(payloadB64);
  out.append(R"(","signature":")").append(sig).append(R"("})");
  return out;
}

Expected<JwsParts> splitJws(std::string_view text, const JsonLimits& limits) {
  rapidjson::Document doc;
  if (JsonError e = parseStrict(text, doc, limits))
    return malformed("JWS is not valid JSON: " + e.message());
  if (!doc.IsObject()) return malformed("JWS must be a JSON object (flattened serialization)");
  const rapidjson::Value* parts[3] = {member(doc, "protected"), member(doc, "payload"),
                                      member(doc, "signature")};
  for (const rapidjson::Value* p : parts)
    if (!p || !p->IsString())
      return malformed("JWS needs string members protected, payload and signature");
  if (doc.MemberCount() != 3)
    return malformed("JWS may have only the members protected, payload and signature");
  JwsParts out;
  std::string_view prot(parts[0]->GetString(), parts[0]->GetStringLength());
  std::string_view payload(parts[1]->GetString(), parts[1]->GetStringLength());
  std::string_view sig(parts[2]->GetString(), parts[2]->GetStringLength());
  auto header = base64urlDecode(prot);
  auto body = base64urlDecode(payload);
  auto signature = base64urlDecode(sig);
  if (!header || header->empty()) return malformed("protected header is not base64url");
  if (!body) return malformed("payload is not base64url");
  if (!signature) return malformed("signature is not base64url");
  out.signingInput.reserve(prot.size() + 1 + payload.size());
  out.signingInput.append(prot).append(".").append(payload);
  out.header = std::move(*header);
  out.payload = std::move(*body);
  out.signature = std::move(*signature);
  return out;
}

std::string_view VerifiedMessage::field(const char* name) const {
  const rapidjson::Value* v = member(envelope, name);
  if (!v || !v->IsString()) return {};
  return {v->GetString(), v->GetStringLength()};
}

Expected<VerifiedMessage> verifyJws(std::string_view text, const Registry& registry,
                                    std::time_t now, const JsonLimits& limits) {
  Expected<JwsParts> split = splitJws(text, limits);
  if (!split) return split.problem();
  JwsParts& parts = split.value();

  rapidjson::Document header;
  if (JsonError e = parseStrict(parts.header, header, {4096, 4}))
    return malformed("protected header is not valid JSON: " + e.message());
  if (!header.IsObject()) return malformed("protected header must be a JSON object");
  for (auto& m : header.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    bool allowed = false;
    for (const char* a : kAllowedHeader) allowed = allowed || name == a;
    if (!allowed)
      return badSignature("header parameter \"" + std::string(name.substr(0, 32)) +
                          "\" is not accepted (allowed: alg, kid, x5t#S256, typ, cty)");
  }
  const rapidjson::Value* alg = member(header, "alg");
  const rapidjson::Value* kid = member(header, "kid");
  const rapidjson::Value* x5t = member(header, "x5t#S256");
  if (!alg || !alg->IsString()) return badSignature("header has no alg");
  std::optional<JwsAlg> jwsAlg = parseJwsAlg(alg->GetString());
  if (!jwsAlg) return badSignature("alg must be EdDSA, Ed25519 or ES256");
  if (!kid || !kid->IsString() || !x5t || !x5t->IsString())
    return Problem{"unknown_key", "header must name the signer: kid and x5t#S256"};

  // The payload is parsed before the signature is checked: malformed input costs no signature.
  VerifiedMessage msg;
  if (JsonError e = parseStrict(parts.payload, msg.envelope, limits))
    return malformed("payload is not valid JSON: " + e.message());
  if (!msg.envelope.IsObject()) return malformed("payload must be a JSON object (the envelope)");

  Problem problem;
  const RegisteredKey* key = registry.keyFor(kid->GetString(), x5t->GetString(), now, problem);
  if (!key) return problem;
  if (!verifyBytes(*jwsAlg, key->cert.publicKey(), parts.signingInput, parts.signature))
    return badSignature(keyAlg(key->cert.publicKey()) == *jwsAlg
                            ? "signature does not verify with the sender's certificate"
                            : "alg does not match the sender's key type");

  msg.key = key;
  if (msg.from() != key->participant->id)
    return badSignature("envelope from must equal the signer (kid " + key->participant->id + ")");
  msg.jws.assign(text);
  msg.digest = hexLower(sha256(parts.signingInput));
  msg.payload = std::move(parts.payload);
  return msg;
}

}  // namespace dx
