#pragma once
// Small helpers shared by the dxhub subcommands: options, usage errors, exit codes.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace dx::cli {

// A usage problem: printed as one line on stderr, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Options of the form --name VALUE (or --flag alone, if listed in `flags`) and positionals.
struct Args {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
  bool help = false;

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  std::string require(const std::string& name) const;  // throws UsageError naming --name
};

// Parses argv[first..]; throws UsageError for an option not in `known` (or `flags`).
Args parse(int argc, char** argv, int first, const std::vector<std::string>& known,
           const std::vector<std::string>& flags = {});

int signCommand(int argc, char** argv);
int verifyCommand(int argc, char** argv);
int demoCommand(int argc, char** argv);
int serveCommand(int argc, char** argv);
int sendCommand(int argc, char** argv);
int auditCommand(int argc, char** argv);
int pluginsCommand(int argc, char** argv);
int noticeCommand(int argc, char** argv);

}  // namespace dx::cli
