#pragma once
// Shared by the stress drivers (tests/stress/, `dx_stress`): the figures file every driver
// writes, the checks it counts, and posting signed messages the way a client does.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "hub_process.h"

namespace dx::stress {

// Exit statuses of a driver; ctest treats kSkipped as "skipped" (SKIP_RETURN_CODE).
constexpr int kPassed = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr int kSkipped = 77;

// One driver's result, written as var/stress/<test>.json for docs/RELIABILITY.md:
// {"test": str, "must_hold": str, "passed": bool, "figures": {name: number|string}}.
class Report {
 public:
  Report(std::string test, std::string mustHold);
  // A condition that must hold; a failed one is printed at once and fails the run.
  bool check(bool ok, const std::string& what);
  void figure(const std::string& name, double value);
  void figure(const std::string& name, const std::string& value);
  bool passed() const { return failures_ == 0; }
  // Prints the figures and writes the JSON file when `path` is not empty; the exit status.
  int finish(const std::string& path) const;

 private:
  std::string test_, mustHold_;
  int failures_ = 0;
  std::vector<std::pair<std::string, std::variant<double, std::string>>> figures_;
};

// A signed freeze.request from cc.samastipur to `to` (case 31509260012345), fresh id and time.
struct Outgoing {
  std::string id, jws, digest;  // digest: hex SHA-256 of the signing input, as receipts name it
};
Outgoing freezeRequest(const std::string& to);

// What the hub said to one POST: a receipt (202 or 200, a hub-signed receipt whose `ref` is
// the message and whose digest is the message's), a refusal (status and code), or no answer.
struct PostOutcome {
  int status = 0;
  std::string code;    // problem `code` of a refusal
  std::string digest;  // the receipt's digest when receipted
  bool receipted = false;
  std::string error;  // transport error when status is 0
};
PostOutcome post(test::Client& client, const Outgoing& message);

// GET /v1/messages/{id} as cc.samastipur: the status and, when 200, `state` and `digest`.
struct Stored {
  int status = 0;
  std::string state, digest;
};
Stored stored(test::Client& client, const std::string& id);

// Percentile (0..100) of `values` (sorted here); 0 when empty.
double percentile(std::vector<double> values, double p);

// Command-line flags "--name value" into a map; unknown ones are a usage error.
// --figures is always known.
class Flags {
 public:
  Flags(int argc, char** argv, const std::vector<std::string>& known);
  double number(const std::string& name, double otherwise) const;
  std::string figures() const;  // the --figures path, or empty
 private:
  std::map<std::string, std::string> values_;
};

std::string pluginPath(const std::string& stem);  // build/test-plugins/libdx_<stem>.so
std::string buildDir();                           // the CMake binary folder

}  // namespace dx::stress
