#include "dx/connector.h"

#include <stdexcept>

#include <rapidjson/document.h>

namespace dx {

Connector::~Connector() = default;
ConnectorContext::~ConnectorContext() = default;
MessageSigner::~MessageSigner() = default;

namespace {
rapidjson::Document parsed(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return doc;
}
}  // namespace

const std::string& ConnectorSettings::json(const std::string& key) const {
  auto it = json_.find(key);
  if (it == json_.end()) throw std::invalid_argument("config key " + key + " is not declared");
  return it->second;
}

std::string ConnectorSettings::string(const std::string& key) const {
  rapidjson::Document d = parsed(json(key));
  return d.IsString() ? d.GetString() : "";
}

std::int64_t ConnectorSettings::integer(const std::string& key) const {
  rapidjson::Document d = parsed(json(key));
  return d.IsInt64() ? d.GetInt64() : 0;
}

bool ConnectorSettings::boolean(const std::string& key) const {
  rapidjson::Document d = parsed(json(key));
  return d.IsBool() && d.GetBool();
}

std::vector<std::string> ConnectorSettings::strings(const std::string& key) const {
  rapidjson::Document d = parsed(json(key));
  std::vector<std::string> out;
  if (d.IsArray())
    for (auto& v : d.GetArray())
      if (v.IsString()) out.emplace_back(v.GetString());
  return out;
}

}  // namespace dx
