#pragma once
// SMTP client for connectors that e-mail (notices to the DM office). Written once, in the core:
// UTF-8 throughout, RFC 2047 subjects, STARTTLS when the server offers it, AUTH when configured.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dx/https_client.h"  // TransportError

namespace dx {

// The server refused the mail for good (a 5xx reply): retrying will not help.
struct SmtpRejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SmtpSettings {
  std::string host = "127.0.0.1";
  int port = 25;
  std::string starttls = "auto";  // auto (when offered), required, never
  std::string username, password;  // AUTH LOGIN/PLAIN when username is set
  std::string caFile;              // trust for STARTTLS (empty: the system's)
  std::string heloName = "dxhub";
  int timeoutMs = 10000;
};

struct MailAttachment {
  std::string filename, mediaType, content;
};

struct Mail {
  std::string from;
  std::vector<std::string> to;
  std::string subject;    // UTF-8 (Hindi welcome); encoded per RFC 2047
  std::string messageId;  // without angle brackets, e.g. "<uuid>@dxhub.samastipur"
  // Text parts in order, each (language tag such as "hi" or "en", UTF-8 text), each sent as a
  // text/plain; charset=UTF-8 part with Content-Language, inside multipart/mixed.
  std::vector<std::pair<std::string, std::string>> texts;
  std::vector<MailAttachment> attachments;
};

class SmtpClient {
 public:
  explicit SmtpClient(SmtpSettings settings);
  ~SmtpClient();
  // Sends one mail. Throws TransportError (connection, timeout, 4xx: try again later) or
  // SmtpRejected (5xx). Thread-safe: one SMTP session per call.
  void send(const Mail& mail) const;

 private:
  SmtpSettings settings_;
};

}  // namespace dx
