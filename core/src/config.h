#pragma once
// The hub's configuration file (config/dxhub.json). Loading it checks every key: an unknown or
// ill-typed key stops start-up with one line naming the file, the key and what was expected.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace dx {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ParticipantConfig {
  std::string id;
  std::string role;  // station, cyber_cell, sp_office, dm_office, bank, hub
  std::string name;
  std::string nameHi;
  std::string keyType;                    // "" (Ed25519) or "p256": read by the dev PKI script
  std::vector<std::string> certs;         // PEM paths; default <pki.dir>/<id>.crt
  std::vector<std::string> ifscPrefixes;  // banks: the IFSC prefixes routed to this bank
  int respondWithinS = 3600;  // banks: time to answer a freeze request without its own respond_by
  std::string escalateTo;   // banks: also told when a request to it is overdue ("" = nobody)
  std::string chase;        // cyber cells: "approve" (drafts wait) or "auto" (sent at once)
  std::string chaseKey;     // cyber cells: the key the hub signs approved or auto drafts with
};

struct Limits {
  std::size_t maxBodyBytes = 1 << 20;
  int freshnessSeconds = 300;
  int maxConnections = 1024;
  int workers = 4;  // requests in the CPU stage (signature checks) at once
  int queue = 256;
  int readTimeoutMs = 10000;
  // The request head (Poco 1.11's parser refuses more than 100 fields, a field name over 256
  // bytes, a value over 8192 bytes and a URI over 16384 bytes whatever these say).
  int maxHeaderFields = 100;
  std::size_t maxHeaderBytes = 32768;  // names and values of all header fields together
  std::size_t maxUriBytes = 8192;
  // From a request's first byte (a connection's first request: from its start, TLS handshake
  // included) until its body is read; past it the connection is cut.
  int requestDeadlineS = 30;
};

struct HubConfig {
  std::string path;  // the file it was read from
  std::string hubId, district, listen;
  std::string districtHi;  // the district's name in Hindi (Devanagari), for reports and notices
  std::string pkiDir, caPath, crlPath;
  std::string storeUrl, schemaDir, policyPath;
  // How long a hub instance holds a delivery it works (at least its connector's timeout more):
  // after an instance dies, others take its deliveries over when this has passed.
  int leaseSeconds = 30;
  Limits limits;
  std::vector<ParticipantConfig> participants;
  rapidjson::Document plugins;  // the `plugins` array, read by the connector runtime

  std::string hubCertPath() const { return pkiDir + "/" + hubId + ".crt"; }
  std::string hubKeyPath() const { return pkiDir + "/" + hubId + ".key"; }
  const ParticipantConfig* findParticipant(const std::string& id) const;
  // The bank whose IFSC prefixes include the first four letters of `ifsc`, if any.
  const ParticipantConfig* bankForIfsc(const std::string& ifsc) const;
};

// Throws ConfigError("<file>: <key>: <what was expected>").
HubConfig loadConfig(const std::string& path);
// The same for a config's text; `path` names it in errors (and is HubConfig::path).
HubConfig parseConfig(std::string_view text, const std::string& path);

// Reads a whole file; throws std::runtime_error naming it.
std::string readFile(const std::string& path);

}  // namespace dx
