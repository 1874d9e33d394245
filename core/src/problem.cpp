#include "problem.h"

#include <string_view>

namespace dx {
namespace {
struct Row {
  std::string_view code;
  int status;
  const char* title;
};
constexpr Row kRows[] = {
    {"malformed", 400, "Malformed message"},
    {"stale", 400, "Message outside the allowed time window"},
    {"bad_query", 400, "Bad query parameters"},
    {"bad_signature", 401, "Signature does not verify"},
    {"unknown_key", 401, "Signing key is not registered"},
    {"cert_invalid", 401, "Certificate is not valid"},
    {"unauthenticated", 401, "Client certificate required"},
    {"forbidden", 403, "Forbidden"},
    {"not_found", 404, "Not found"},
    {"method_not_allowed", 405, "Method not allowed"},
    {"timeout", 408, "Request not complete in time"},
    {"id_conflict", 409, "Message id already used for another message"},
    {"draft_not_pending", 409, "Draft cannot be sent"},
    {"no_signing_key", 409, "No key to sign with"},
    {"too_large", 413, "Request too large"},
    {"schema", 422, "Message does not match its schema"},
    {"pii_aadhaar", 422, "Plain Aadhaar number in a free-text field"},
    {"busy", 503, "Busy, retry later"},
    {"store_unavailable", 503, "Store unavailable, retry later"},
    {"internal", 500, "Internal error"},
};
const Row* find(const std::string& code) {
  for (const Row& row : kRows)
    if (row.code == code) return &row;
  return nullptr;
}
}  // namespace

int problemStatus(const std::string& code) {
  const Row* row = find(code);
  return row ? row->status : 500;
}

const char* problemTitle(const std::string& code) {
  const Row* row = find(code);
  return row ? row->title : "Internal error";
}

}  // namespace dx
