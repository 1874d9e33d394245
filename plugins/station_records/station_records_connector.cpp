#include "station_records_connector.h"

namespace dx::station_records {

DeliveryResult StationRecordsConnector::deliver(const Message&) {
  return DeliveryResult::reject("station_records is not implemented yet; use the inbox");
}

}  // namespace dx::station_records
