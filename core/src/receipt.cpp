#include "receipt.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "crypto.h"
#include "jws.h"
#include "strict_json.h"

namespace dx {

std::string receiptPayload(std::string_view hubId, std::string_view to, std::string_view messageId,
                           std::string_view digest, std::string_view acceptedAt, std::int64_t seq,
                           std::string_view hash) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto field = [&](const char* k, std::string_view v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  field("id", newUuid());
  field("type", "hub.receipt");
  field("from", hubId);
  field("to", to);
  field("created", acceptedAt);
  field("ref", messageId);
  w.Key("body");
  w.StartObject();
  field("digest", digest);
  field("accepted_at", acceptedAt);
  w.Key("audit_seq");
  w.Int64(seq);
  field("audit_hash", hash);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::optional<ReceiptFacts> checkReceipt(std::string_view receipt, const Certificate& hub,
                                         std::string_view messageId, std::string_view digest,
                                         std::string& why) {
  Expected<JwsParts> parts = splitJws(receipt, {});
  if (!parts) {
    why = "receipt is not a JWS: " + parts.problem().detail;
    return std::nullopt;
  }
  rapidjson::Document header, env;
  if (parseStrict(parts->header, header) || !header.IsObject() || !header.HasMember("x5t#S256") ||
      !header["x5t#S256"].IsString() || header["x5t#S256"].GetString() != hub.thumbprint()) {
    why = "receipt is not signed with the hub's certificate";
    return std::nullopt;
  }
  std::optional<JwsAlg> alg = keyAlg(hub.publicKey());
  if (!alg || !verifyBytes(*alg, hub.publicKey(), parts->signingInput, parts->signature)) {
    why = "receipt signature does not verify with the hub's certificate";
    return std::nullopt;
  }
  if (parseStrict(parts->payload, env) || !env.IsObject()) {
    why = "receipt payload is not JSON";
    return std::nullopt;
  }
  auto str = [&](const rapidjson::Value& v, const char* k) -> std::string {
    return v.IsObject() && v.HasMember(k) && v[k].IsString() ? v[k].GetString() : "";
  };
  const rapidjson::Value& body = env.HasMember("body") ? env["body"] : env;
  if (str(env, "type") != "hub.receipt" || str(env, "ref") != messageId ||
      str(env, "from") != hub.participantId()) {
    why = "receipt is not the hub's receipt for this message";
    return std::nullopt;
  }
  if (str(body, "digest") != digest) {
    why = "receipt digest does not match the message sent";
    return std::nullopt;
  }
  ReceiptFacts facts{hub.participantId(), str(body, "accepted_at"), str(body, "audit_hash"), 0};
  if (body.HasMember("audit_seq") && body["audit_seq"].IsInt64())
    facts.auditSeq = body["audit_seq"].GetInt64();
  return facts;
}

}  // namespace dx
