#pragma once
// bank_freeze: pushes `freeze.request` and `freeze.release` messages to a bank's HTTPS endpoint
// (POST of the exact JWS bytes, mutual TLS with the hub's own identity). A bank that answers at
// once with its signed `freeze.response` in the body has that answer put through the hub's
// pipeline (ConnectorContext::submit); a bank that answers later posts it to POST /v1/messages.
// A bank without an endpoint pulls from its inbox; the core routes only served banks here, and a
// message for any other is refused.
//
// Threading: deliver() may run for several banks at once; each bank has its own HttpsClient
// (thread-safe), made in start() and read-only afterwards.
// Errors: deliver() never throws. 2xx → Delivered; 408, 429, 5xx, no answer (TransportError) →
// Retry; any other status → Reject. The reason names the bank and the status or the error, never
// a body.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dx/connector.h"
#include "dx/https_client.h"

namespace dx::bank_freeze {

// The settings after start(): validated, with defaults filled in.
struct Settings {
  std::map<std::string, std::string> endpoints;  // participant id → base URL (https://HOST[:PORT])
  std::string path = "/dx/v1/freeze";            // appended to the base URL's own path
  int timeoutMs = 10000;
};

// Reads and checks the connector's config (the core has checked the top-level types); throws
// std::invalid_argument naming the key, e.g. "endpoints.bank.sbi: must be an https:// URL".
Settings readSettings(const ConnectorSettings& settings);

// What a bank's HTTP status means for the delivery (without a network: unit-testable). `code` is
// the problem code the bank gave, if any, for the reason.
DeliveryResult judgeStatus(const std::string& bank, int status, const std::string& code);

class BankFreezeConnector : public Connector {
 public:
  std::string name() const override { return "bank_freeze"; }
  std::string version() const override { return "1.0.0"; }
  std::vector<ConfigKey> configKeys() const override;
  void start(ConnectorContext& context, const ConnectorSettings& settings) override;
  void stop() override;
  DeliveryResult deliver(const Message& message) override;

 private:
  DeliveryResult push(const Message& message, const std::string& bank);

  struct Endpoint {
    std::unique_ptr<HttpsClient> client;
    std::string path;  // the base URL's own path + settings.path
  };
  ConnectorContext* context_ = nullptr;
  Settings settings_;
  std::map<std::string, Endpoint> endpoints_;
};

}  // namespace dx::bank_freeze
