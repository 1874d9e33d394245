#pragma once
// dm_notices: delivers `notice.awareness` letters from the SP office to the DM office by e-mail
// (SMTP: the Hindi and English texts, the signed JWS attached as evidence) and, where the office
// has an HTTPS endpoint, also by POST of the JWS to <endpoint>/dx/v1/notices with the hub's TLS
// identity. The office answers with `notice.ack` messages through the hub's API (or its inbox).
//
// Threading: deliver() may run for several recipients at once; the clients it uses are
// thread-safe and the set of mails already sent is guarded by a mutex.
// Errors: deliver() never throws. SMTP TransportError (no server, timeout, 4xx) → Retry;
// SmtpRejected (5xx) → Reject; then the HTTPS push: 2xx → Delivered; 408, 429, 5xx, no answer →
// Retry; other 4xx → Reject.
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dx/connector.h"
#include "dx/https_client.h"
#include "dx/smtp_client.h"

namespace dx::dm_notices {

// The settings after start(): validated, with defaults filled in.
struct Settings {
  SmtpSettings smtp;
  std::string from;
  std::map<std::string, std::vector<std::string>> recipients;  // participant id → addresses
  std::map<std::string, std::string> endpoints;                // participant id → base URL
  int timeoutMs = 10000;
};

// Reads and checks the connector's config (the core has checked the top-level types); throws
// std::invalid_argument naming the key, e.g. "smtp.starttls: must be auto, required or never".
Settings readSettings(const ConnectorSettings& settings);

// The mail for a notice: subject, texts (hi, en) with the letter number on their first line, the
// JWS attached. Throws std::invalid_argument if the envelope is not a notice.awareness.
Mail composeMail(const Message& message, const Settings& settings, const std::string& hubId);

class DmNoticesConnector : public Connector {
 public:
  std::string name() const override { return "dm_notices"; }
  std::string version() const override { return "1.0.0"; }
  std::vector<ConfigKey> configKeys() const override;
  void start(ConnectorContext& context, const ConnectorSettings& settings) override;
  void stop() override;
  DeliveryResult deliver(const Message& message) override;

 private:
  DeliveryResult push(const Message& message, HttpsClient& client, const std::string& path);
  bool alreadyMailed(const std::string& id);
  void rememberMailed(const std::string& id);
  void forget(const std::string& id);

  ConnectorContext* context_ = nullptr;
  Settings settings_;
  std::unique_ptr<SmtpClient> smtp_;
  struct Endpoint {
    std::unique_ptr<HttpsClient> client;
    std::string path;  // the URL's own path + /dx/v1/notices
  };
  std::map<std::string, Endpoint> endpoints_;

  // Notices mailed whose HTTPS push has not succeeded yet: their retries skip the mail while
  // this process runs. Bounded; oldest forgotten first.
  static constexpr std::size_t kMaxRemembered = 10000;
  std::mutex mailedMutex_;
  std::set<std::string> mailed_;
  std::deque<std::string> mailedOrder_;
};

}  // namespace dx::dm_notices
