#include "plugin_host.h"

#include <algorithm>
#include <functional>
#include <map>

#include <Poco/SharedLibrary.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "strict_json.h"

namespace dx {

const char* configKeyTypeName(ConfigKey::Type type) {
  switch (type) {
    case ConfigKey::Type::String:
      return "string";
    case ConfigKey::Type::Integer:
      return "integer";
    case ConfigKey::Type::Boolean:
      return "boolean";
    case ConfigKey::Type::StringList:
      return "list of strings";
    case ConfigKey::Type::Object:
      return "object";
    case ConfigKey::Type::ObjectList:
      return "list of objects";
  }
  return "?";
}

namespace {

std::string jsonText(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

bool hasType(const rapidjson::Value& v, ConfigKey::Type type) {
  switch (type) {
    case ConfigKey::Type::String:
      return v.IsString();
    case ConfigKey::Type::Integer:
      return v.IsInt64();
    case ConfigKey::Type::Boolean:
      return v.IsBool();
    case ConfigKey::Type::StringList:
      return v.IsArray() && std::all_of(v.Begin(), v.End(), [](auto& e) { return e.IsString(); });
    case ConfigKey::Type::Object:
      return v.IsObject();
    case ConfigKey::Type::ObjectList:
      return v.IsArray() && std::all_of(v.Begin(), v.End(), [](auto& e) { return e.IsObject(); });
  }
  return false;
}

std::vector<std::string> stringList(const rapidjson::Value& obj, const char* key,
                                    const std::function<void(const std::string&)>& fail) {
  std::vector<std::string> out;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return out;
  if (!hasType(it->value, ConfigKey::Type::StringList))
    fail(std::string(key) + ": expected a list of strings");
  for (auto& v : it->value.GetArray()) out.emplace_back(v.GetString());
  return out;
}

}  // namespace

bool PluginEntry::serves_(const std::string& to, const std::string& type) const {
  return std::find(serves.begin(), serves.end(), to) != serves.end() &&
         (types.empty() || std::find(types.begin(), types.end(), type) != types.end());
}

PluginHost::PluginHost(const HubConfig& config) {
  const rapidjson::Value& plugins = config.plugins;
  for (rapidjson::SizeType i = 0; i < plugins.Size(); ++i) {
    const rapidjson::Value& p = plugins[i];
    std::string where = config.path + ": plugins[" + std::to_string(i) + "]";
    auto fail = [&](const std::string& what) -> void { throw ConfigError(where + ": " + what); };
    if (!p.IsObject()) fail("expected an object");
    for (auto& m : p.GetObject()) {
      std::string key = m.name.GetString();
      static const char* const kKeys[] = {"name",     "library",  "serves", "types",
                                          "acts_for", "delivery", "config"};
      if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; }))
        fail(key + ": unknown key");
    }
    auto entry = std::make_unique<PluginEntry>();
    if (!p.HasMember("name") || !p["name"].IsString()) fail("name: expected a string");
    if (!p.HasMember("library") || !p["library"].IsString()) fail("library: expected a path");
    entry->name = p["name"].GetString();
    entry->library = p["library"].GetString();
    where = config.path + ": plugin " + entry->name;
    entry->serves = stringList(p, "serves", fail);
    entry->types = stringList(p, "types", fail);
    entry->actsFor = stringList(p, "acts_for", fail);
    for (const std::string& id : entry->serves)
      if (!config.findParticipant(id)) fail("serves: " + id + " is not a participant");
    for (const std::string& id : entry->actsFor)
      if (!config.findParticipant(id)) fail("acts_for: " + id + " is not a participant");

    if (p.HasMember("delivery")) {
      const rapidjson::Value& d = p["delivery"];
      if (!d.IsObject()) fail("delivery: expected an object");
      auto number = [&](const char* key, std::int64_t fallback, std::int64_t min) {
        if (!d.HasMember(key)) return fallback;
        if (!d[key].IsInt64() || d[key].GetInt64() < min)
          fail(std::string("delivery.") + key + ": expected an integer ≥ " + std::to_string(min));
        return d[key].GetInt64();
      };
      for (auto& m : d.GetObject()) {
        std::string key = m.name.GetString();
        if (key != "initial_backoff_ms" && key != "max_backoff_ms" && key != "max_attempts" &&
            key != "max_age_s" && key != "timeout_ms" && key != "in_flight")
          fail("delivery." + key + ": unknown key");
      }
      RetryPolicy& r = entry->retry;
      r.initialBackoff = std::chrono::milliseconds(number("initial_backoff_ms", 500, 1));
      r.maxBackoff = std::chrono::milliseconds(number("max_backoff_ms", 60000, 1));
      r.maxAttempts = static_cast<int>(number("max_attempts", 12, 1));
      r.maxAge = std::chrono::seconds(number("max_age_s", 86400, 1));
      r.timeout = std::chrono::milliseconds(number("timeout_ms", 15000, 1));
      r.inFlight = static_cast<int>(number("in_flight", 1, 1));
      if (r.inFlight > 64) fail("delivery.in_flight: expected an integer from 1 to 64");
    }

    // The ABI check comes before anything else of the library runs (its manifest included).
    try {
      Poco::SharedLibrary probe(entry->library);
      if (!probe.hasSymbol("dx_plugin_abi"))
        fail(entry->library + " does not export dx_plugin_abi(); is it a dxhub connector?");
      auto abi = reinterpret_cast<int (*)()>(probe.getSymbol("dx_plugin_abi"));
      if (int version = abi(); version != kPluginAbi)
        fail(entry->library + " was built for plugin ABI " + std::to_string(version) +
             ", this hub has ABI " + std::to_string(kPluginAbi) + "; rebuild the plugin");
      loader_.loadLibrary(entry->library);
    } catch (const ConfigError&) {
      throw;
    } catch (const Poco::Exception& e) {
      fail("cannot load " + entry->library + ": " + e.displayText());
    }
    const auto* manifest = loader_.findManifest(entry->library);
    if (!manifest || manifest->begin() == manifest->end())
      fail(entry->library + " exports no connector class");
    try {
      entry->connector.reset(loader_.create(manifest->begin()->name()));
    } catch (const Poco::Exception& e) {
      fail("cannot create the connector: " + e.displayText());
    }

    // Settings: declared keys only, each well-typed; defaults fill the rest.
    std::vector<ConfigKey> keys = entry->connector->configKeys();
    std::map<std::string, std::string> values;
    const rapidjson::Value* given = nullptr;
    if (p.HasMember("config")) {
      given = &p["config"];
      if (!given->IsObject()) fail("config: expected an object");
      for (auto& m : given->GetObject()) {
        std::string key = m.name.GetString();
        auto declared =
            std::find_if(keys.begin(), keys.end(), [&](auto& k) { return k.name == key; });
        if (declared == keys.end()) fail("config." + key + ": unknown key for " + entry->name);
        if (!hasType(m.value, declared->type))
          fail("config." + key + ": expected " + configKeyTypeName(declared->type));
        values[key] = jsonText(m.value);
      }
    }
    for (const ConfigKey& k : keys) {
      if (values.count(k.name)) continue;
      if (k.defaultJson.empty()) fail("config." + k.name + ": required (" + k.meaning + ")");
      values[k.name] = k.defaultJson;
    }
    entry->settings = std::make_unique<ConnectorSettings>(std::move(values));
    entries_.push_back(std::move(entry));
  }
}

PluginHost::~PluginHost() {
  for (auto& e : entries_) {
    // A connector with a hung deliver() call still running is left alone (and its library
    // loaded): destroying it under that thread would be worse than the leak at exit.
    if (e->callsInFlight > 0) {
      (void)e->connector.release();
      continue;
    }
    e->connector.reset();  // before the loader unloads the libraries
  }
}

PluginEntry* PluginHost::route(const std::string& to, const std::string& type) {
  for (auto& e : entries_)
    if (e->serves_(to, type)) return e.get();
  return nullptr;
}

PluginEntry* PluginHost::find(const std::string& name) {
  for (auto& e : entries_)
    if (e->name == name) return e.get();
  return nullptr;
}

}  // namespace dx
