#pragma once
// Shared by the dm_notices tests: the dev PKI, signed notices as the core hands them to a
// connector, a fake ConnectorContext, and settings as the core builds them from the config.
// Header-only: the test binary is made from tests/plugins/dm_notices/*_test.cpp alone.
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Logger.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "dx/connector.h"
#include "jws.h"
#include "strict_json.h"

namespace dx::test {

// The dev PKI for tests (build/test-pki). The script takes a few seconds even when everything is
// there, and ctest runs every test in a process of its own: when the files these tests use exist
// (ca.crl is made last) it is not run; otherwise it runs under a lock (tests run at once; it
// keeps keys that exist).
inline const std::string& pkiDir() {
  static std::string dir;
  static std::once_flag once;
  std::call_once(once, [] {
    dir = std::string(DX_BINARY_DIR) + "/test-pki";
    bool complete = true;
    for (const char* f :
         {"ca.crt", "ca.crl", "hub.samastipur.crt", "hub.samastipur.key", "sp.samastipur.crt",
          "sp.samastipur.key", "dm.samastipur.crt", "dm.samastipur.key", "cc.samastipur.crt",
          "bank.sbi.crt", "ps.samastipur.rosera.crt"})
      complete = complete && ::access((dir + "/" + f).c_str(), R_OK) == 0;
    if (complete) return;
    std::string cmd = "cd '" DX_SOURCE_DIR "' && flock '" + dir + ".lock' certs/make-dev-pki.sh '" +
                      dir + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-dev-pki.sh failed: " + cmd);
  });
  return dir;
}

inline Signer signerFor(const std::string& participant) {
  return Signer::fromFiles(pkiDir() + "/" + participant + ".key",
                           pkiDir() + "/" + participant + ".crt");
}

// ../shared/examples/notice.awareness.json: letter SP/SAM/CYB/2026/118, Hindi and English.
inline std::string exampleNoticeBody() {
  return readFile(std::string(DX_EXAMPLES_DIR) + "/notice.awareness.json");
}

// An envelope (JSON text) with a fresh id and the current time around `bodyJson`.
inline std::string envelopeJson(const std::string& id, const std::string& type,
                                const std::string& from, const std::string& to,
                                const std::string& bodyJson, const std::string& ref = {}) {
  rapidjson::Document body;
  if (parseStrict(bodyJson, body)) throw std::runtime_error("test body is not JSON");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("id");
  w.String(id);
  w.Key("type");
  w.String(type);
  w.Key("from");
  w.String(from);
  w.Key("to");
  w.String(to);
  w.Key("created");
  w.String(formatRfc3339(SystemClock::instance().unixSeconds()));
  if (!ref.empty()) {
    w.Key("ref");
    w.String(ref);
  }
  w.Key("body");
  body.Accept(w);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// A signed message as the core hands it to deliver().
inline Message signedMessage(const std::string& type, const std::string& from,
                             const std::string& to, const std::string& bodyJson,
                             const std::string& ref = {}) {
  Message m;
  m.id = newUuid();
  m.type = type;
  m.from = from;
  m.to = to;
  m.ref = ref;
  m.payload = envelopeJson(m.id, type, from, to, bodyJson, ref);
  m.jws = signerFor(from).sign(m.payload);
  Expected<JwsParts> parts = splitJws(m.jws, {});
  if (!parts) throw std::runtime_error("test JWS does not split");
  m.digest = hexLower(sha256(parts->signingInput));
  rapidjson::Document env;
  parseStrict(m.payload, env);
  m.created = env["created"].GetString();
  return m;
}

inline Message signedNotice(const std::string& to = "dm.samastipur") {
  return signedMessage("notice.awareness", "sp.samastipur", to, exampleNoticeBody());
}

// What a connector may see of the core, for tests: the hub's dev TLS identity, a logger, and
// every submission recorded.
class FakeContext : public ConnectorContext {
 public:
  const std::string& hubId() const override { return hubId_; }
  Poco::Logger& logger() override { return Poco::Logger::get("dm_notices_test"); }
  SubmitResult submit(const std::string& jws) override {
    std::lock_guard<std::mutex> lock(mutex_);
    submitted.push_back(jws);
    return {202, "accepted", ""};
  }
  std::shared_ptr<const MessageSigner> signerFor(const std::string& id) override {
    throw std::invalid_argument(id + " is not in this connector's acts_for");
  }
  TlsIdentity hubTls() const override {
    const std::string& pki = pkiDir();
    return {pki + "/hub.samastipur.crt", pki + "/hub.samastipur.key", pki + "/ca.crt",
            pki + "/ca.crl"};
  }
  TlsIdentity tlsFor(const std::string& id) const override {
    throw std::invalid_argument(id + " is not in this connector's acts_for");
  }
  std::optional<Message> message(const std::string&) override { return std::nullopt; }

  std::vector<std::string> submitted;

 private:
  std::string hubId_ = "hub.samastipur";
  std::mutex mutex_;
};

// Settings as the core builds them: the given keys (JSON text), the declared defaults for the
// rest.
inline ConnectorSettings settingsFor(const Connector& connector,
                                     const std::map<std::string, std::string>& given) {
  std::map<std::string, std::string> values = given;
  for (const ConfigKey& k : connector.configKeys()) {
    if (values.count(k.name)) continue;
    if (k.defaultJson.empty()) throw std::invalid_argument(k.name + " is required");
    values[k.name] = k.defaultJson;
  }
  return ConnectorSettings(std::move(values));
}

}  // namespace dx::test
