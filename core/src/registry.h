#pragma once
// The participant registry: who may send, in which role, with which certificates. A JWS `kid`
// is only ever a key into this table, never a path or a query.
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "certificate.h"
#include "config.h"
#include "problem.h"

namespace dx {

struct Participant {
  std::string id;
  std::string role;
  std::string name;
};

// One registered certificate: whose it is, and whether it chained to the CA without revocation
// when the registry was built.
struct RegisteredKey {
  const Participant* participant;
  Certificate cert;
  std::optional<std::string> chainError;
};

class Registry {
 public:
  // Loads every participant's certificates (and the hub's own) and checks each chain against
  // `trust`. Throws std::runtime_error naming a certificate file that cannot be read, or one
  // whose SAN does not name its participant.
  Registry(const HubConfig& config, const TrustStore& trust);

  const Participant* find(std::string_view id) const;
  const RegisteredKey* findKey(std::string_view thumbprint) const;
  // The key a message signed by `kid` with certificate `thumbprint` must be verified with, or the
  // problem (unknown_key, cert_invalid) that stops it, judged at time `now`.
  const RegisteredKey* keyFor(std::string_view kid, std::string_view thumbprint, std::time_t now,
                              Problem& problem) const;
  const std::vector<Participant>& participants() const { return participants_; }

 private:
  std::vector<Participant> participants_;  // fixed size after construction: pointers stay valid
  std::map<std::string, const Participant*, std::less<>> byId_;
  std::map<std::string, RegisteredKey, std::less<>> byThumbprint_;
};

}  // namespace dx
