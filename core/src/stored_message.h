#pragma once
// Reading what a stored message says. Its signature, sender and schema were checked when it was
// accepted; this only decodes the payload of the exact bytes kept.
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "store.h"

namespace dx {

// The envelope (id, type, from, to, created, ref, case, body) of a stored message. Throws
// StoreError if the stored bytes do not decode (the store was altered).
rapidjson::Document storedEnvelope(const MessageRecord& message);

// Member `key` of `object` as a string; "" when absent or not a string.
std::string jsonString(const rapidjson::Value& object, const char* key);

}  // namespace dx
