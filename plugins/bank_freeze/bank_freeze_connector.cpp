#include "bank_freeze_connector.h"

DX_CONNECTOR_PLUGIN(dx::bank_freeze::BankFreezeConnector)
