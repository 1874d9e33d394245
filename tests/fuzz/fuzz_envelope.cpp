// libFuzzer: an envelope, strictly parsed, through dx::MessageValidator (envelope schema, the
// type's body schema, domain checks): a Problem "schema" or "pii_aadhaar", or valid; never a
// crash, and never a detail that echoes a plain Aadhaar number from the input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <rapidjson/document.h>

#include "domain_checks.h"
#include "message_validator.h"
#include "strict_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dx::MessageValidator validator(DX_SOURCE_DIR "/config/schemas");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  rapidjson::Document doc;
  if (dx::parseStrict(text, doc)) return 0;
  std::optional<dx::Problem> p = validator.validate(doc);
  if (p && p->code != "schema" && p->code != "pii_aadhaar") __builtin_trap();
  if (p && dx::containsPlainAadhaar(p->detail)) __builtin_trap();
  return 0;
}
