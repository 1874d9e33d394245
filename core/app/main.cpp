// dxhub: the district data-exchange hub. One program, one subcommand per job.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "cli.h"

namespace {

constexpr const char* kUsage = R"(usage: dxhub COMMAND [options]   (dxhub COMMAND --help for each)

commands:
  sign     make a signed message (JWS) from a body file
  verify   check a signed message: signature, certificate, schema, domain rules
  serve    run the hub (mutual-TLS API, store, audit log)
  send     post a signed message to a hub and check its receipt
  audit    check the audit log's hash chain (dxhub audit verify)
  plugins  list the connector plugins the config loads, with their config keys
  notice   draft the SP office's awareness notice from a month's cyber-crime graph
  demo     run the Samastipur story on the embedded default
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  try {
    if (command == "sign") return dx::cli::signCommand(argc, argv);
    if (command == "verify") return dx::cli::verifyCommand(argc, argv);
    if (command == "serve") return dx::cli::serveCommand(argc, argv);
    if (command == "send") return dx::cli::sendCommand(argc, argv);
    if (command == "audit") return dx::cli::auditCommand(argc, argv);
    if (command == "plugins") return dx::cli::pluginsCommand(argc, argv);
    if (command == "notice") return dx::cli::noticeCommand(argc, argv);
    if (command == "demo") return dx::cli::demoCommand(argc, argv);
    std::cerr << "dxhub: unknown command \"" << command << "\" (dxhub --help lists them)\n";
    return 2;
  } catch (const dx::cli::UsageError& e) {
    std::cerr << "dxhub " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dxhub " << command << ": " << e.what() << "\n";
    return 1;
  }
}
