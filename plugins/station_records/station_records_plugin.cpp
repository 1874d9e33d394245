// The library's entry points: the ABI version and the manifest.
#include "station_records_connector.h"

DX_CONNECTOR_PLUGIN(dx::station_records::StationRecordsConnector)
