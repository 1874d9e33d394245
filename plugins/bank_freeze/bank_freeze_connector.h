#pragma once
#include "dx/connector.h"

namespace dx::bank_freeze {

// Minimal until the connector issue lands: loads, names itself, and refuses deliveries so that
// messages wait in the recipient's inbox.
class BankFreezeConnector : public Connector {
 public:
  std::string name() const override { return "bank_freeze"; }
  std::string version() const override { return "0.1.0"; }
  void start(ConnectorContext&) override {}
  void stop() override {}
  DeliveryResult deliver(const Message&) override {
    return DeliveryResult::reject("bank_freeze is not implemented yet; use the inbox");
  }
};

}  // namespace dx::bank_freeze
