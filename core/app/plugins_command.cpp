// dxhub plugins: what the config loads, checked as `serve` would check it.
#include <iostream>

#include "cli.h"
#include "config.h"
#include "plugin_host.h"

namespace dx::cli {

namespace {
constexpr const char* kUsage = R"(usage: dxhub plugins --config FILE

Loads every connector plugin of the config (ABI check, manifest, config keys checked against
what the connector declares) without starting it, and lists each: name, version, library, the
participants and types it delivers, the participants it acts for, its retry policy and its
config keys (type, default, meaning). Exits 1 with one line if a plugin or its config is wrong.
)";

std::string join(const std::vector<std::string>& items, const char* none) {
  if (items.empty()) return none;
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}
}  // namespace

int pluginsCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  HubConfig config = loadConfig(args.require("config"));
  PluginHost host(config);
  if (host.entries().empty()) std::cout << "no connector plugins configured\n";
  for (auto& e : host.entries()) {
    const RetryPolicy& r = e->retry;
    std::cout << e->name << " " << e->connector->version() << "  (" << e->library << ")\n"
              << "  delivers to: " << join(e->serves, "nobody (source only)")
              << "  types: " << join(e->types, "all") << "\n"
              << "  acts for:    " << join(e->actsFor, "nobody") << "\n"
              << "  retry:       back-off " << r.initialBackoff.count() << " ms doubling to "
              << r.maxBackoff.count() << " ms (full jitter), at most " << r.maxAttempts
              << " attempts or " << r.maxAge.count() << " s, " << r.timeout.count()
              << " ms per call\n"
              << "  config keys:\n";
    for (const ConfigKey& k : e->connector->configKeys())
      std::cout << "    " << k.name << " (" << configKeyTypeName(k.type) << ", "
                << (k.defaultJson.empty() ? "required" : "default " + k.defaultJson)
                << "): " << k.meaning << "\n";
  }
  return 0;
}

}  // namespace dx::cli
