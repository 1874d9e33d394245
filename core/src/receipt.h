#pragma once
// Receipts (DESIGN §5): the hub's signed promise that a message is on disk and will be
// delivered or escalated.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "certificate.h"

namespace dx {

// The envelope of a receipt for message `messageId` from `to`, accepted at `acceptedAt` as
// audit entry `seq` with hash `hash`.
std::string receiptPayload(std::string_view hubId, std::string_view to, std::string_view messageId,
                           std::string_view digest, std::string_view acceptedAt, std::int64_t seq,
                           std::string_view hash);

struct ReceiptFacts {
  std::string hubId, acceptedAt, auditHash;
  std::int64_t auditSeq = 0;
};

// Checks a receipt as a sender should: signed by `hub` (the certificate the hub's TLS server
// presented, or the hub's registered one), type hub.receipt, ref = `messageId`, digest =
// `digest`. The facts on success; otherwise the reason in words.
std::optional<ReceiptFacts> checkReceipt(std::string_view receipt, const Certificate& hub,
                                         std::string_view messageId, std::string_view digest,
                                         std::string& why);

}  // namespace dx
