#pragma once
#include "dx/connector.h"

namespace dx::station_records {

// Minimal until the connector issue lands: loads, names itself, and refuses deliveries so that
// messages wait in the recipient's inbox.
class StationRecordsConnector : public Connector {
 public:
  std::string name() const override { return "station_records"; }
  std::string version() const override { return "0.1.0"; }
  void start(ConnectorContext&) override {}
  void stop() override {}
  DeliveryResult deliver(const Message&) override {
    return DeliveryResult::reject("station_records is not implemented yet; use the inbox");
  }
};

}  // namespace dx::station_records
