#include "config.h"

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string_view>

#include "strict_json.h"

namespace dx {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

// Typed reads of one object, each failure naming the file and the key's full path.
class Reader {
 public:
  Reader(const std::string& file, const rapidjson::Value& obj, std::string prefix,
         std::initializer_list<std::string_view> allowed)
      : file_(file), obj_(obj), prefix_(std::move(prefix)) {
    if (!obj.IsObject()) fail(prefix_.empty() ? "(top level)" : prefix_, "expected an object");
    for (auto& m : obj.GetObject()) {
      std::string_view key(m.name.GetString(), m.name.GetStringLength());
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (!known) fail(path(key), "unknown key");
    }
  }

  std::string string(std::string_view key, bool required, std::string fallback = {}) const {
    const rapidjson::Value* v = find(key);
    if (!v) {
      if (required) fail(path(key), "missing (expected a string)");
      return fallback;
    }
    if (!v->IsString() || v->GetStringLength() == 0) fail(path(key), "expected a non-empty string");
    return v->GetString();
  }

  int64_t integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) const {
    const rapidjson::Value* v = find(key);
    if (!v) return fallback;
    if (!v->IsInt64() || v->GetInt64() < min || v->GetInt64() > max)
      fail(path(key),
           "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return v->GetInt64();
  }

  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> out;
    const rapidjson::Value* v = find(key);
    if (!v) return out;
    if (!v->IsArray()) fail(path(key), "expected an array of strings");
    for (auto& s : v->GetArray()) {
      if (!s.IsString()) fail(path(key), "expected an array of strings");
      out.emplace_back(s.GetString());
    }
    return out;
  }

  const rapidjson::Value* find(std::string_view key) const {
    auto it = obj_.FindMember(rapidjson::StringRef(key.data(), key.size()));
    return it == obj_.MemberEnd() ? nullptr : &it->value;
  }

  std::string path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(file_ + ": " + key + ": " + what);
  }

 private:
  const std::string& file_;
  const rapidjson::Value& obj_;
  std::string prefix_;
};

const char* const kRoles[] = {"station", "cyber_cell", "sp_office", "dm_office", "bank", "hub"};

}  // namespace

const ParticipantConfig* HubConfig::findParticipant(const std::string& id) const {
  for (const ParticipantConfig& p : participants)
    if (p.id == id) return &p;
  return nullptr;
}

const ParticipantConfig* HubConfig::bankForIfsc(const std::string& ifsc) const {
  std::string prefix = ifsc.substr(0, 4);
  for (const ParticipantConfig& p : participants)
    for (const std::string& candidate : p.ifscPrefixes)
      if (p.role == "bank" && candidate == prefix) return &p;
  return nullptr;
}

HubConfig loadConfig(const std::string& path) {
  std::string text;
  try {
    text = readFile(path);
  } catch (const std::exception&) {
    throw ConfigError(path + ": cannot read the config file");
  }
  return parseConfig(text, path);
}

HubConfig parseConfig(std::string_view text, const std::string& path) {
  rapidjson::Document doc;
  if (JsonError e = parseStrict(text, doc)) throw ConfigError(path + ": " + e.message());

  HubConfig c;
  c.path = path;
  Reader top(path, doc, "",
             {"hub", "pki", "store", "schemas", "policy", "limits", "participants", "plugins"});
  auto section = [&](std::string_view key, std::initializer_list<std::string_view> allowed) {
    const rapidjson::Value* v = top.find(key);
    if (!v) top.fail(std::string(key), "missing (expected an object)");
    return Reader(path, *v, std::string(key), allowed);
  };

  Reader hub = section("hub", {"id", "district", "district_hi", "listen"});
  c.hubId = hub.string("id", true);
  c.district = hub.string("district", false, "");
  c.districtHi = hub.string("district_hi", false, "");
  c.listen = hub.string("listen", false, "127.0.0.1:8443");

  Reader pki = section("pki", {"dir", "ca", "crl"});
  c.pkiDir = pki.string("dir", true);
  c.caPath = pki.string("ca", false, c.pkiDir + "/ca.crt");
  c.crlPath = pki.string("crl", false, "");

  Reader store = section("store", {"url", "lease_seconds"});
  c.storeUrl = store.string("url", true);
  c.leaseSeconds = static_cast<int>(store.integer("lease_seconds", 30, 1, 3600));
  c.schemaDir = top.string("schemas", false, "config/schemas");
  c.policyPath = top.string("policy", false, "config/policy.json");

  if (const rapidjson::Value* v = top.find("limits")) {
    Reader limits(path, *v, "limits",
                  {"max_body_bytes", "freshness_seconds", "max_connections", "workers", "queue",
                   "read_timeout_ms", "max_header_fields", "max_header_bytes", "max_uri_bytes",
                   "request_deadline_s"});
    c.limits.maxBodyBytes =
        static_cast<std::size_t>(limits.integer("max_body_bytes", 1 << 20, 1024, 64 << 20));
    c.limits.freshnessSeconds =
        static_cast<int>(limits.integer("freshness_seconds", 300, 1, 86400));
    c.limits.maxConnections = static_cast<int>(limits.integer("max_connections", 1024, 1, 65536));
    c.limits.workers = static_cast<int>(limits.integer("workers", 4, 1, 1024));
    c.limits.queue = static_cast<int>(limits.integer("queue", 256, 1, 1 << 20));
    c.limits.readTimeoutMs =
        static_cast<int>(limits.integer("read_timeout_ms", 10000, 100, 600000));
    c.limits.maxHeaderFields = static_cast<int>(limits.integer("max_header_fields", 100, 1, 100));
    c.limits.maxHeaderBytes =
        static_cast<std::size_t>(limits.integer("max_header_bytes", 32768, 1024, 1 << 20));
    c.limits.maxUriBytes =
        static_cast<std::size_t>(limits.integer("max_uri_bytes", 8192, 256, 16384));
    c.limits.requestDeadlineS = static_cast<int>(limits.integer("request_deadline_s", 30, 1, 3600));
  }

  const rapidjson::Value* list = top.find("participants");
  if (!list || !list->IsArray() || list->Empty())
    top.fail("participants", "expected a non-empty array of participants");
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    std::string prefix = "participants[" + std::to_string(i) + "]";
    Reader r(path, (*list)[i], prefix,
             {"id", "role", "name", "name_hi", "key_type", "certs", "ifsc_prefixes",
              "respond_within_s", "escalate_to", "chase", "chase_key"});
    ParticipantConfig p;
    p.id = r.string("id", true);
    p.role = r.string("role", true);
    bool knownRole = false;
    for (const char* role : kRoles) knownRole = knownRole || p.role == role;
    if (!knownRole)
      r.fail(prefix + ".role",
             "expected one of station, cyber_cell, sp_office, dm_office, bank, hub");
    p.name = r.string("name", false, p.id);
    p.nameHi = r.string("name_hi", false, "");
    p.keyType = r.string("key_type", false, "");
    p.certs = r.strings("certs");
    if (p.certs.empty()) p.certs.push_back(c.pkiDir + "/" + p.id + ".crt");
    p.ifscPrefixes = r.strings("ifsc_prefixes");
    p.respondWithinS = static_cast<int>(r.integer("respond_within_s", 3600, 1, 7 * 24 * 3600));
    p.escalateTo = r.string("escalate_to", false, "");
    p.chase = r.string("chase", false, "approve");
    if (p.chase != "approve" && p.chase != "auto")
      r.fail(prefix + ".chase", "expected \"approve\" or \"auto\"");
    p.chaseKey = r.string("chase_key", false, c.pkiDir + "/" + p.id + ".key");
    if (c.findParticipant(p.id))
      r.fail(prefix + ".id", "participant \"" + p.id + "\" listed twice");
    c.participants.push_back(std::move(p));
  }

  for (std::size_t i = 0; i < c.participants.size(); ++i) {
    const std::string& to = c.participants[i].escalateTo;
    if (!to.empty() && !c.findParticipant(to))
      top.fail("participants[" + std::to_string(i) + "].escalate_to",
               "\"" + to + "\" is not a participant");
  }

  c.plugins.SetArray();
  if (const rapidjson::Value* v = top.find("plugins")) {
    if (!v->IsArray()) top.fail("plugins", "expected an array");
    c.plugins.CopyFrom(*v, c.plugins.GetAllocator());
  }
  return c;
}

}  // namespace dx
