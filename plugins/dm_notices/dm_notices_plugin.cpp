// The library's entry points: the ABI version and the manifest.
#include "dm_notices_connector.h"

DX_CONNECTOR_PLUGIN(dx::dm_notices::DmNoticesConnector)
