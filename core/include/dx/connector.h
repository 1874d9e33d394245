#pragma once
// The plugin API: what a connector implements and what it may see of the core.
//
// Threading: the core calls start() and stop() from one thread; deliver() may be called from
// several delivery workers at once, never for two messages to the same recipient at the same
// time. Errors: deliver() never throws (an escaping exception is treated as Retry); start() may
// throw to stop the hub's start-up with its message.
#include <string>

#include <Poco/ClassLibrary.h>

#include "dx/delivery.h"
#include "dx/export.h"
#include "dx/message.h"

namespace dx {

// The ABI version of this header. A plugin built against another version is refused at load.
inline constexpr int kPluginAbi = 1;

class ConnectorContext {
 public:
  virtual ~ConnectorContext();
  virtual const std::string& hubId() const = 0;
};

class Connector {
 public:
  virtual ~Connector();  // defined in the core, so every plugin shares one vtable anchor
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;
  virtual void start(ConnectorContext& context) = 0;
  virtual void stop() = 0;
  virtual DeliveryResult deliver(const Message& message) = 0;
};

}  // namespace dx

// Exports a connector class from a plugin library: the ABI check function and Poco's manifest.
#define DX_CONNECTOR_PLUGIN(Class)           \
  extern "C" DX_EXPORT int dx_plugin_abi() { \
    return ::dx::kPluginAbi;                 \
  }                                          \
  POCO_BEGIN_MANIFEST(::dx::Connector)       \
  POCO_EXPORT_CLASS(Class)                   \
  POCO_END_MANIFEST
