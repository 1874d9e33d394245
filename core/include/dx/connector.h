#pragma once
// The plugin API: what a connector implements and what it may see of the core.
//
// Lifetime: the core loads the library, checks dx_plugin_abi(), creates the connector through
// Poco's manifest, validates the connector's config against configKeys(), calls start(), and at
// shut-down stop(), then destroys the connector before unloading the library.
// Threading: start() and stop() are called from one thread. deliver() is called from the core's
// delivery workers, possibly for several recipients at once, but never for two messages to the
// same recipient at the same time. A connector's own threads (a folder watcher, say) must end
// in stop().
// Errors: deliver() never throws (an escaping exception counts as Retry); start() may throw
// std::exception to stop the hub's start-up with its message.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Poco/ClassLibrary.h>
#include <Poco/Logger.h>

#include "dx/delivery.h"
#include "dx/export.h"
#include "dx/message.h"

namespace dx {

// The ABI version of this header. A plugin built against another version is refused at load.
inline constexpr int kPluginAbi = 1;

// One config key a connector declares. The core refuses unknown keys and ill-typed values at
// start-up, naming the file and the key.
struct ConfigKey {
  enum class Type { String, Integer, Boolean, StringList, Object, ObjectList };
  std::string name;
  Type type;
  std::string defaultJson;  // the default as JSON text; empty: the key is required
  std::string meaning;      // one line, shown by `dxhub plugins`
};

// A connector's config after validation: every declared key, with its value or its default, as
// JSON text. The accessors throw std::invalid_argument for an undeclared key.
class ConnectorSettings {
 public:
  explicit ConnectorSettings(std::map<std::string, std::string> json) : json_(std::move(json)) {}
  std::string string(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  bool boolean(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;
  const std::string& json(const std::string& key) const;  // Object and ObjectList keys

 private:
  std::map<std::string, std::string> json_;
};

// Signs envelopes as one participant (JWS, flattened JSON; its key never leaves the core).
class MessageSigner {
 public:
  virtual ~MessageSigner();
  virtual const std::string& participantId() const = 0;
  virtual std::string sign(const std::string& payloadJson) const = 0;
};

// Files of a TLS identity: certificate, key, trust anchors, revocation list.
struct TlsIdentity {
  std::string cert, key, ca, crl;
};

// What a submission through the pipeline came to: 202/200 and the receipt, or the problem.
struct SubmitResult {
  int status = 0;
  std::string code;  // "accepted", "duplicate", or the problem code
  std::string body;  // the receipt JWS, or the problem+json document
  bool receipted() const { return status == 200 || status == 202; }
};

// What the core lends a connector. Thread-safe.
class ConnectorContext {
 public:
  virtual ~ConnectorContext();
  virtual const std::string& hubId() const = 0;
  virtual Poco::Logger& logger() = 0;
  // A message through the same pipeline as POST /v1/messages (the signature is the identity).
  virtual SubmitResult submit(const std::string& jws) = 0;
  // A signer for a participant listed in this connector's `acts_for`; throws otherwise.
  virtual std::shared_ptr<const MessageSigner> signerFor(const std::string& participantId) = 0;
  // The hub's own TLS identity (for pushing to banks and offices), or a participant's in
  // `acts_for` (a station forwarding to the district hub).
  virtual TlsIdentity hubTls() const = 0;
  virtual TlsIdentity tlsFor(const std::string& participantId) const = 0;
  // A stored message by id, if there is one.
  virtual std::optional<Message> message(const std::string& id) = 0;
};

class Connector {
 public:
  virtual ~Connector();  // defined in the core, so every plugin shares one vtable anchor
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;
  virtual std::vector<ConfigKey> configKeys() const = 0;
  virtual void start(ConnectorContext& context, const ConnectorSettings& settings) = 0;
  virtual void stop() = 0;
  virtual DeliveryResult deliver(const Message& message) = 0;
};

}  // namespace dx

// Exports a connector class from a plugin library: the ABI check function and Poco's manifest.
#define DX_CONNECTOR_PLUGIN(Class)                                        \
  extern "C" DX_EXPORT int dx_plugin_abi() { return ::dx::kPluginAbi; } \
  POCO_BEGIN_MANIFEST(::dx::Connector)                                  \
  POCO_EXPORT_CLASS(Class)                                              \
  POCO_END_MANIFEST
