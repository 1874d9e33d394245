#pragma once
// The audit log's hash chain (DESIGN §5): hash_n = SHA-256(hash_{n-1} ‖ canonical(entry_n)),
// over the raw 32-byte previous hash (32 zero bytes before the first entry) and the canonical
// form: the JSON array [seq, at, event, message_id, digest, from, to, type, outcome, client]
// written compactly by RapidJSON (strings escaped the one way it escapes them).
#include <cstdint>
#include <string>

#include "store.h"

namespace dx {

std::string canonicalAuditEntry(const AuditEntry& entry);
// hex hash of `entry` chained to `previousHex` (64 hex characters).
std::string chainAuditHash(const std::string& previousHex, const AuditEntry& entry);
inline const std::string kEmptyAuditHash(64, '0');

struct AuditCheck {
  std::int64_t entries = 0;
  std::string head;            // hex hash of the last entry
  std::int64_t brokenSeq = 0;  // 0 when the chain holds
  std::string why;
};

// Recomputes the whole chain; names the first entry whose hash or seq does not follow.
AuditCheck verifyAuditChain(Store& store);

}  // namespace dx
