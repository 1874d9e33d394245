#pragma once
// base64url without padding (RFC 7515 §2). Decoding is strict: any character outside the
// alphabet, padding, or non-zero trailing bits is refused, so each value has one encoding.
#include <optional>
#include <string>
#include <string_view>

namespace dx {

std::string base64urlEncode(std::string_view bytes);
std::optional<std::string> base64urlDecode(std::string_view text);

}  // namespace dx
