#include "audit.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base64url.h"
#include "crypto.h"

namespace dx {

std::string canonicalAuditEntry(const AuditEntry& e) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  w.Int64(e.seq);
  for (const std::string* s :
       {&e.at, &e.event, &e.messageId, &e.digest, &e.from, &e.to, &e.type, &e.outcome, &e.client})
    w.String(s->data(), static_cast<rapidjson::SizeType>(s->size()));
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

namespace {
std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}
}  // namespace

std::string chainAuditHash(const std::string& previousHex, const AuditEntry& entry) {
  return hexLower(sha256(unhex(previousHex) + canonicalAuditEntry(entry)));
}

AuditCheck verifyAuditChain(Store& store) {
  AuditCheck check;
  std::string previous = kEmptyAuditHash;
  store.forEachAudit([&](const AuditEntry& e) {
    if (e.seq != check.entries + 1) {
      check.brokenSeq = check.entries + 1;
      check.why = "entry " + std::to_string(check.entries + 1) + " is missing (next is " +
                  std::to_string(e.seq) + ")";
      return false;
    }
    std::string expected = chainAuditHash(previous, e);
    if (expected != e.hash) {
      check.brokenSeq = e.seq;
      check.why = "entry " + std::to_string(e.seq) + " does not match its hash (altered)";
      return false;
    }
    previous = e.hash;
    ++check.entries;
    return true;
  });
  check.head = previous;
  return check;
}

}  // namespace dx
