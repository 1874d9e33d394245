#pragma once
// Who may send what to whom (config/policy.json). Deny by default.
#include <optional>
#include <string>
#include <vector>

#include "problem.h"

namespace dx {

// What an answer's `ref` must name: a message of `type` between the same two participants,
// sent the other way (reverse) or the same way (same).
struct RefRule {
  std::string type;
  bool reverse = true;
};

struct PolicyRule {
  std::string fromRole, type;
  std::vector<std::string> toRoles;
  std::optional<RefRule> ref;
};

// The referenced message as the store has it.
struct ReferencedMessage {
  std::string type, from, to;
};

class Policy {
 public:
  // Throws std::runtime_error naming the file and the rule that is wrong.
  static Policy load(const std::string& path);
  explicit Policy(std::vector<PolicyRule> rules) : rules_(std::move(rules)) {}

  // The rule allowing this (sender role, type, recipient role), or nullptr: refuse.
  const PolicyRule* find(const std::string& fromRole, const std::string& type,
                         const std::string& toRole) const;

  // Checks an answer's `ref` against its rule. `referenced` is nullopt when the store has no
  // message with that id. nullopt when allowed; Problem{"forbidden"} otherwise.
  static std::optional<Problem> checkRef(const PolicyRule& rule, const std::string& from,
                                         const std::string& to,
                                         const std::optional<ReferencedMessage>& referenced);

 private:
  std::vector<PolicyRule> rules_;
};

}  // namespace dx
