#include "dm_notices_connector.h"

namespace dx::dm_notices {

DeliveryResult DmNoticesConnector::deliver(const Message&) {
  return DeliveryResult::reject("dm_notices is not implemented yet; use the inbox");
}

}  // namespace dx::dm_notices
