#include "registry.h"

#include <stdexcept>

namespace dx {

Registry::Registry(const HubConfig& config, const TrustStore& trust) {
  participants_.reserve(config.participants.size() + 1);
  std::vector<std::vector<std::string>> certPaths;
  for (const ParticipantConfig& p : config.participants) {
    participants_.push_back({p.id, p.role, p.name});
    certPaths.push_back(p.certs);
  }
  if (!config.findParticipant(config.hubId)) {
    participants_.push_back(
        {config.hubId, "hub", config.district.empty() ? config.hubId : "Hub, " + config.district});
    certPaths.push_back({config.hubCertPath()});
  }
  for (std::size_t i = 0; i < participants_.size(); ++i) {
    const Participant& p = participants_[i];
    byId_.emplace(p.id, &p);
    for (const std::string& path : certPaths[i]) {
      Certificate cert = Certificate::fromPemFile(path);
      if (cert.participantId() != p.id)
        throw std::runtime_error("certificate " + path + " does not name participant " + p.id +
                                 " in its SAN URI urn:dx:participant:<id>");
      std::optional<std::string> chainError = trust.verifyChain(cert);
      byThumbprint_.emplace(cert.thumbprint(), RegisteredKey{&p, cert, chainError});
    }
  }
}

const Participant* Registry::find(std::string_view id) const {
  auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : it->second;
}

const RegisteredKey* Registry::findKey(std::string_view thumbprint) const {
  auto it = byThumbprint_.find(thumbprint);
  return it == byThumbprint_.end() ? nullptr : &it->second;
}

const RegisteredKey* Registry::keyFor(std::string_view kid, std::string_view thumbprint,
                                      std::time_t now, Problem& problem) const {
  const RegisteredKey* key = findKey(thumbprint);
  if (!key || key->participant->id != kid) {
    problem = {"unknown_key",
               find(kid)
                   ? "the certificate named by x5t#S256 is not registered for " + std::string(kid)
                   : "no participant is registered as kid"};
    return nullptr;
  }
  if (key->chainError) {
    problem = {"cert_invalid", "signing " + *key->chainError};
    return nullptr;
  }
  if (now < key->cert.notBefore()) {
    problem = {"cert_invalid", "signing certificate is not yet valid"};
    return nullptr;
  }
  if (now > key->cert.notAfter()) {
    problem = {"cert_invalid", "signing certificate has expired"};
    return nullptr;
  }
  return key;
}

}  // namespace dx
