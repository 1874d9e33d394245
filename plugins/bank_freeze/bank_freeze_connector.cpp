#include "bank_freeze_connector.h"

namespace dx::bank_freeze {

DeliveryResult BankFreezeConnector::deliver(const Message&) {
  return DeliveryResult::reject("bank_freeze is not implemented yet; use the inbox");
}

}  // namespace dx::bank_freeze
