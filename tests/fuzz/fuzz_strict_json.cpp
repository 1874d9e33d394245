// libFuzzer: dx::parseStrict, the one parser of every untrusted JSON input. It must never crash,
// recurse without bound or leak, whatever the bytes; a document it accepts must be one object
// tree within the depth limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <rapidjson/document.h>

#include "strict_json.h"

namespace {
unsigned depth(const rapidjson::Value& v) {
  unsigned d = 0;
  if (v.IsObject())
    for (auto& m : v.GetObject()) d = std::max(d, depth(m.value));
  else if (v.IsArray())
    for (auto& e : v.GetArray()) d = std::max(d, depth(e));
  else
    return 0;
  return d + 1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  rapidjson::Document doc;
  dx::JsonLimits limits;
  limits.maxBytes = 64 * 1024;
  limits.maxDepth = 32;
  if (!dx::parseStrict(text, doc, limits) && depth(doc) > limits.maxDepth) __builtin_trap();
  return 0;
}
