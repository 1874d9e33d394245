#pragma once
// The "validate" stage of the pipeline (DESIGN §5): an envelope against
// config/schemas/envelope.json, its body against config/schemas/<type>.json, then the domain checks
// a draft-04 schema cannot express (real dates and times, UUIDs, `ref`/`case` rules, plain Aadhaar
// numbers in free text).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "problem.h"

namespace dx {

// Checks an envelope (already strictly parsed, signature already verified by the caller):
// envelope schema, body schema of its type, then domain checks. Thread-safe after construction:
// validate() shares only immutable state (RapidJSON schemas compiled without their patterns,
// PCRE patterns), so any number of threads may call it at once. About 2-5 µs per message.
class MessageValidator {
 public:
  // Loads envelope.json and every <type>.json from schemaDir; throws std::runtime_error naming
  // the file and what is wrong with it. Beyond parsing, a schema is refused when it uses a
  // keyword this validator does not apply (e.g. `const`, `if`, `$ref`, `oneOf`: RapidJSON 1.1
  // would ignore some silently), a `pattern` outside the portable subset RapidJSON's regex
  // engine parses (e.g. `\d`), an object without `additionalProperties: false`, a field without
  // `description`, or a string field that has no `pattern`, `enum` or `format` and is not marked
  // `"x-dx-free-text": true` (so no free text escapes the Aadhaar check).
  explicit MessageValidator(const std::string& schemaDir);
  ~MessageValidator();
  MessageValidator(MessageValidator&&) noexcept;
  MessageValidator& operator=(MessageValidator&&) noexcept;

  // nullopt when the message is valid; otherwise Problem{"schema" or "pii_aadhaar", detail}.
  // The detail names the field (`body.transactions[0].at`) and what is wrong, and never echoes
  // a value, so it never shows an account or Aadhaar number. Throws only std::bad_alloc.
  std::optional<Problem> validate(const rapidjson::Value& envelope) const;

  static const std::vector<std::string>& types();  // the 8 type names

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dx
