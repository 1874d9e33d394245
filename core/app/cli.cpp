#include "cli.h"

#include <algorithm>

namespace dx::cli {

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) throw UsageError("missing --" + name + " (see --help)");
  return it->second;
}

Args parse(int argc, char** argv, int first, const std::vector<std::string>& known,
           const std::vector<std::string>& flags) {
  Args args;
  auto listed = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      args.help = true;
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2);
      std::string value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (listed(flags, name)) {
        value = "1";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else if (listed(known, name)) {
        throw UsageError("--" + name + " needs a value");
      }
      if (!listed(known, name) && !listed(flags, name))
        throw UsageError("unknown option --" + name + " (see --help)");
      args.options[name] = value;
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

}  // namespace dx::cli
