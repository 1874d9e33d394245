#pragma once
// The one parse function for every untrusted JSON input (DESIGN §5 "parse"): UTF-8 validated,
// iterative (no recursion on deep input), byte- and depth-limited, duplicate keys refused.
#include <cstddef>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace dx {

struct JsonLimits {
  std::size_t maxBytes = 1 << 20;  // 1 MiB, the hub's default body limit
  unsigned maxDepth = 32;          // envelope → body → account is depth 4; 32 leaves room
};

struct JsonError {
  std::string what;        // e.g. "duplicate key \"amount\"", "invalid UTF-8"
  std::size_t offset = 0;  // byte offset in the input where it was found
  explicit operator bool() const { return !what.empty(); }
  std::string message() const;  // "<what> at byte <offset>"
};

// Parses `text` into `doc`. On failure returns a JsonError and leaves `doc` null; a deep or
// hostile input is refused before any recursive structure is built.
JsonError parseStrict(std::string_view text, rapidjson::Document& doc,
                      const JsonLimits& limits = {});

}  // namespace dx
