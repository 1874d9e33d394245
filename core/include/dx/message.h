#pragma once
#include <string>

namespace dx {

// A stored, verified message as a connector sees it. Plain data: safe to copy across threads.
struct Message {
  std::string id;
  std::string type;
  std::string from;
  std::string to;
  std::string ref;      // empty when the message answers nothing
  std::string caseId;   // empty when the type has no case
  std::string created;  // RFC 3339, as the sender wrote it
  std::string jws;      // the exact signed bytes, as received
  std::string payload;  // the envelope JSON (decoded JWS payload)
  std::string digest;   // hex SHA-256 of the JWS signing input
};

}  // namespace dx
