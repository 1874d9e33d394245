// A plugin built for another ABI version: the loader must refuse it before reading its manifest.
#include <Poco/ClassLibrary.h>

#include "dx/connector.h"

extern "C" DX_EXPORT int dx_plugin_abi() {
  return 999;
}
