// A library that is not a dxhub connector: it exports no dx_plugin_abi().
#include "dx/export.h"

extern "C" DX_EXPORT int some_other_entry_point() {
  return 1;
}
