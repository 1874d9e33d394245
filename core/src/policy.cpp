#include "policy.h"

#include <stdexcept>

#include "config.h"
#include "strict_json.h"

namespace dx {

Policy Policy::load(const std::string& path) {
  rapidjson::Document doc;
  if (JsonError e = parseStrict(readFile(path), doc))
    throw std::runtime_error(path + ": " + e.message());
  auto fail = [&](const std::string& where, const std::string& what) {
    throw std::runtime_error(path + ": " + where + ": " + what);
  };
  if (!doc.IsObject() || !doc.HasMember("rules") || !doc["rules"].IsArray())
    fail("rules", "expected an array of rules");
  std::vector<PolicyRule> rules;
  for (rapidjson::SizeType i = 0; i < doc["rules"].Size(); ++i) {
    const rapidjson::Value& r = doc["rules"][i];
    std::string where = "rules[" + std::to_string(i) + "]";
    if (!r.IsObject()) fail(where, "expected an object");
    for (auto& m : r.GetObject()) {
      std::string key = m.name.GetString();
      if (key != "from" && key != "type" && key != "to" && key != "ref")
        fail(where + "." + key, "unknown key");
    }
    auto str = [&](const rapidjson::Value& obj, const char* key, const std::string& at) {
      if (!obj.HasMember(key) || !obj[key].IsString()) fail(at + "." + key, "expected a string");
      return std::string(obj[key].GetString());
    };
    PolicyRule rule;
    rule.fromRole = str(r, "from", where);
    rule.type = str(r, "type", where);
    if (!r.HasMember("to") || !r["to"].IsArray() || r["to"].Empty())
      fail(where + ".to", "expected a non-empty array of roles");
    for (auto& to : r["to"].GetArray()) {
      if (!to.IsString()) fail(where + ".to", "expected a non-empty array of roles");
      rule.toRoles.emplace_back(to.GetString());
    }
    if (r.HasMember("ref")) {
      const rapidjson::Value& ref = r["ref"];
      if (!ref.IsObject()) fail(where + ".ref", "expected an object");
      std::string direction = str(ref, "direction", where + ".ref");
      if (direction != "reverse" && direction != "same")
        fail(where + ".ref.direction", "expected \"reverse\" or \"same\"");
      rule.ref = RefRule{str(ref, "type", where + ".ref"), direction == "reverse"};
    }
    rules.push_back(std::move(rule));
  }
  return Policy(std::move(rules));
}

const PolicyRule* Policy::find(const std::string& fromRole, const std::string& type,
                               const std::string& toRole) const {
  for (const PolicyRule& rule : rules_) {
    if (rule.fromRole != fromRole || rule.type != type) continue;
    for (const std::string& to : rule.toRoles)
      if (to == toRole) return &rule;
  }
  return nullptr;
}

std::optional<Problem> Policy::checkRef(const PolicyRule& rule, const std::string& from,
                                        const std::string& to,
                                        const std::optional<ReferencedMessage>& referenced) {
  if (!rule.ref) return std::nullopt;
  // The same answer for "no such message" and "not yours": ids cannot be probed.
  Problem refused{"forbidden", rule.type + " must answer a " + rule.ref->type + " " +
                                   (rule.ref->reverse ? "that " + to + " sent to " + from
                                                      : "that " + from + " sent to " + to)};
  if (!referenced || referenced->type != rule.ref->type) return refused;
  bool between = rule.ref->reverse ? referenced->from == to && referenced->to == from
                                   : referenced->from == from && referenced->to == to;
  if (!between) return refused;
  return std::nullopt;
}

}  // namespace dx
