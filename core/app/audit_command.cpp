// dxhub audit verify: recompute the audit log's hash chain.
#include <iostream>

#include "audit.h"
#include "cli.h"
#include "config.h"
#include "store.h"

namespace dx::cli {

namespace {
constexpr const char* kUsage = R"(usage: dxhub audit verify --config FILE

Recomputes the audit log's hash chain (hash_n = SHA-256(hash_{n-1} || entry_n)) over the store
named by the config. Prints the number of entries and the head hash and exits 0, or names the
first broken entry and exits 1. Safe while the hub runs (it reads a consistent snapshot).
)";
}  // namespace

int auditCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config"});
  if (args.help || args.positional.empty()) {
    std::cout << kUsage;
    return args.help ? 0 : 2;
  }
  if (args.positional.size() != 1 || args.positional[0] != "verify")
    throw UsageError("the audit command is `dxhub audit verify --config FILE`");
  HubConfig config = loadConfig(args.require("config"));
  std::unique_ptr<Store> store = openStore(config.storeUrl);
  AuditCheck check = verifyAuditChain(*store);
  if (check.brokenSeq != 0) {
    std::cout << "audit chain BROKEN at seq " << check.brokenSeq << ": " << check.why << " ("
              << check.entries << " entries before it verify)\n";
    return 1;
  }
  std::cout << "audit chain verified: " << check.entries << " entries, head " << check.head << "\n";
  return 0;
}

}  // namespace dx::cli
