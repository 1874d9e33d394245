// libFuzzer: dx::verifyJws against the test PKI's registry (the hub's "parse" and "verify"
// stages): any bytes give a Problem with one of the stage's codes, never a crash; nothing
// verifies unless it was signed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jws.h"
#include "test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dx::Registry& registry = dx::test::registry();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  dx::Expected<dx::VerifiedMessage> m = dx::verifyJws(text, registry, 1790000000);
  if (!m) {
    const std::string& code = m.problem().code;
    if (code != "malformed" && code != "bad_signature" && code != "unknown_key" &&
        code != "cert_invalid")
      __builtin_trap();
  }
  return 0;
}
