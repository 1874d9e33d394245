#pragma once
// A refusal of the pipeline: a stable `code` (DESIGN §6) and a detail a bank's engineer can act
// on. The HTTP status and title follow from the code, so they are never chosen twice.
#include <string>

namespace dx {

struct Problem {
  std::string code;    // malformed, bad_signature, unknown_key, cert_invalid, forbidden,
                       // id_conflict, too_large, schema, pii_aadhaar, stale, busy, bad_query,
                       // timeout, ...
  std::string detail;  // one sentence; never contains a full account number or an Aadhaar number
};

// HTTP status for a problem code (DESIGN §6); 500 for a code this table does not know.
int problemStatus(const std::string& code);
// Short human title for a problem code.
const char* problemTitle(const std::string& code);

}  // namespace dx
