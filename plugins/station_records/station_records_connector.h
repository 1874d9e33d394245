#pragma once
#include "dx/connector.h"

namespace dx::station_records {

// Minimal until the connector issue lands: loads, names itself, and refuses deliveries so that
// messages wait in the recipient's inbox.
class StationRecordsConnector : public Connector {
 public:
  std::string name() const override { return "station_records"; }
  std::string version() const override { return "0.1.0"; }
  std::vector<ConfigKey> configKeys() const override { return {}; }
  void start(ConnectorContext&, const ConnectorSettings&) override {}
  void stop() override {}
  DeliveryResult deliver(const Message& message) override;
};

}  // namespace dx::station_records
