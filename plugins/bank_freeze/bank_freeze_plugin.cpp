// The library's entry points: the ABI version and the manifest.
#include "bank_freeze_connector.h"

DX_CONNECTOR_PLUGIN(dx::bank_freeze::BankFreezeConnector)
