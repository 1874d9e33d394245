// libFuzzer: dx::verifyJws against the test PKI's registry (the hub's "parse" and "verify"
// stages): any bytes give a Problem with one of the stage's codes, never a crash. An input that
// starts with byte 0x01 is an envelope, signed here with cc.samastipur's test key before it is
// verified, so the fuzzer also reaches what comes after a good signature on any machine's PKI.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jws.h"
#include "test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dx::Registry& registry = dx::test::registry();
  static const dx::Signer signer = dx::test::signer("cc.samastipur");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string signedJws;
  if (size > 0 && data[0] == 0x01) {
    signedJws = signer.sign(text.substr(1));
    text = signedJws;
  }
  dx::Expected<dx::VerifiedMessage> m = dx::verifyJws(text, registry, 1790000000);
  if (!m) {
    const std::string& code = m.problem().code;
    if (code != "malformed" && code != "bad_signature" && code != "unknown_key" &&
        code != "cert_invalid")
      __builtin_trap();
  }
  return 0;
}
