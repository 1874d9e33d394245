#include "stored_message.h"

#include "jws.h"

namespace dx {

rapidjson::Document storedEnvelope(const MessageRecord& message) {
  Expected<JwsParts> parts = splitJws(message.jws, JsonLimits{});
  rapidjson::Document envelope;
  if (!parts || parseStrict(parts.value().payload, envelope) || !envelope.IsObject())
    throw StoreError("stored message " + message.id + " does not decode");
  return envelope;
}

std::string jsonString(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace dx
