#include "dx/smtp_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureSMTPClientSession.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>

#include "tls.h"

namespace dx {

namespace {

using Poco::Net::MailMessage;

// Reply classes of RFC 5321 §4.2.1.
bool positive(int status) {
  return status >= 200 && status < 300;
}
bool intermediate(int status) {
  return status >= 300 && status < 400;
}

// A reply we did not want: 5xx is the server's final word, anything else (4xx, garbage) may pass.
[[noreturn]] void fail(int status, const std::string& what, const std::string& reply) {
  std::string text = what + ": " + std::to_string(status) + " " + reply;
  if (status >= 500 && status < 600) throw SmtpRejected(text);
  throw TransportError(text);
}

std::string base64(std::string_view bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);  // one line: AUTH arguments and encoded-words never wrap
  encoder.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  encoder.close();
  return out.str();
}

bool isAscii(std::string_view text) {
  for (unsigned char c : text)
    if (c > 127) return false;
  return true;
}

bool printableAscii(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// RFC 2047 "B" encoded-words of whole UTF-8 characters, folded onto continuation lines.
// Poco's MailMessage::encodeWord cuts its "Q" words every ~60 bytes even inside a multi-byte
// character, which RFC 2047 §5 forbids ("each encoded-word MUST represent an integral number of
// characters"): Devanagari is three bytes a character, so a Hindi subject would arrive split.
std::string encodeHeaderText(const std::string& text) {
  if (printableAscii(text) && text.size() <= 900) return text;
  // 36 bytes become 48 base64 characters, a 60-character word: "Subject: " + word fits 78.
  constexpr std::size_t kChunk = 36;
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(pos + kChunk, text.size());
    // Back off from a continuation byte (10xxxxxx) so that no character is split.
    while (end < text.size() && end > pos + 1 &&
           (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
      --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(text).substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

// Text in the canonical form of text/* (RFC 2046 §4.1.1): every line break CRLF.
std::string crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

// An address or Message-ID goes into an SMTP command or a header as is: refuse anything that
// could end the line or the angle brackets around it.
void checkToken(const std::string& value, const char* what) {
  if (value.empty()) throw SmtpRejected(std::string("mail not sendable: empty ") + what);
  for (unsigned char c : value)
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>')
      throw SmtpRejected(std::string("mail not sendable: ") + what +
                         " contains a space, control character or angle bracket");
}

// Keywords the server announced in its EHLO reply ("250-STARTTLS", "250-AUTH LOGIN PLAIN"), each
// line without its status code, in upper case.
std::vector<std::string> capabilities(const std::string& ehloReply) {
  std::vector<std::string> lines;
  std::istringstream in(ehloReply);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > 4 && std::isdigit(static_cast<unsigned char>(line[0]))) line = line.substr(4);
    lines.push_back(Poco::toUpper(line));
  }
  return lines;
}

bool offers(const std::vector<std::string>& caps, const std::string& keyword) {
  for (const std::string& line : caps)
    if (line == keyword || line.rfind(keyword + " ", 0) == 0) return true;
  return false;
}

bool offersAuth(const std::vector<std::string>& caps, const std::string& mechanism) {
  for (const std::string& line : caps) {
    if (line.rfind("AUTH ", 0) != 0 && line.rfind("AUTH=", 0) != 0) continue;
    std::istringstream words(line.substr(5));
    std::string word;
    while (words >> word)
      if (word == mechanism) return true;
  }
  return false;
}

// Poco's session with the steps Poco leaves out or gets wrong for us: the EHLO reply (to see
// STARTTLS and AUTH), STARTTLS that checks the certificate against the host we dialled (Poco's
// socket constructor leaves the host empty), and AUTH LOGIN that does not depend on the wording
// of the server's prompts (Poco 1.11 sends nothing if a prompt is not "Username:"/"Password:").
class Session : public Poco::Net::SecureSMTPClientSession {
 public:
  explicit Session(const Poco::Net::StreamSocket& socket) : SecureSMTPClientSession(socket) {}

  std::vector<std::string> hello(const std::string& name) {
    std::string reply;
    login(name, reply);  // greeting, EHLO (HELO if EHLO is unknown)
    return capabilities(reply);
  }

  void startTls(const std::string& host, Poco::Net::Context::Ptr context) {
    std::string reply;
    int status = sendCommand("STARTTLS", reply);
    if (!positive(status)) fail(status, "STARTTLS refused", reply);
    Poco::Net::SecureStreamSocket secure(
        Poco::Net::SecureStreamSocket::attach(socket(), host, context));  // handshake, verified
    socket() = secure;
  }

  void authLogin(const std::string& username, const std::string& password) {
    std::string reply;
    int status = sendCommand("AUTH LOGIN", reply);
    if (!intermediate(status)) fail(status, "AUTH LOGIN refused", reply);
    status = sendCommand(base64(username), reply);
    if (!intermediate(status)) fail(status, "AUTH LOGIN: user name refused", reply);
    status = sendCommand(base64(password), reply);
    if (!positive(status)) fail(status, "AUTH LOGIN failed", reply);
  }

  void authPlain(const std::string& username, const std::string& password) {
    std::string reply;
    std::string credentials = std::string(1, '\0') + username + '\0' + password;  // RFC 4616
    int status = sendCommand("AUTH PLAIN", base64(credentials), reply);
    if (!positive(status)) fail(status, "AUTH PLAIN failed", reply);
  }

  // Drops the connection without QUIT (after a failure: a dead peer must not cost another
  // timeout in the destructor's QUIT).
  void abort() noexcept {
    try {
      socket().close();
    } catch (...) {
    }
  }
};

// Trust for STARTTLS: the configured CA file, or the system's when none is configured. The
// client context refuses a certificate that does not verify or does not name the host.
Poco::Net::Context::Ptr tlsContext(const SmtpSettings& settings) {
  Poco::Net::Context::Ptr context = makeClientContext(TlsFiles{{}, {}, settings.caFile, {}});
  if (settings.caFile.empty()) SSL_CTX_set_default_verify_paths(context->sslContext());
  return context;
}

// The MIME message. A mail that cannot be sent as given (an address that would break the SMTP
// command, no recipient) is SmtpRejected: sending it again would not change that.
void compose(const Mail& mail, MailMessage& message) {
  checkToken(mail.from, "sender address");
  if (mail.to.empty()) throw SmtpRejected("mail not sendable: no recipients");
  std::string messageId = mail.messageId;
  if (messageId.size() >= 2 && messageId.front() == '<' && messageId.back() == '>')
    messageId = messageId.substr(1, messageId.size() - 2);
  checkToken(messageId, "Message-ID");
  if (mail.texts.empty() && mail.attachments.empty())
    throw SmtpRejected("mail not sendable: no text and no attachment");

  message.setSender(mail.from);
  for (const std::string& to : mail.to) {
    checkToken(to, "recipient address");
    message.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, to));
  }
  message.setSubject(encodeHeaderText(mail.subject));
  message.set("Message-ID", "<" + messageId + ">");
  for (const auto& [language, text] : mail.texts) {
    checkToken(language, "language tag");
    auto* part = new Poco::Net::StringPartSource(crlf(text), "text/plain; charset=UTF-8");
    part->headers().set("Content-Language", language);
    // Hindi is three bytes a character: base64 costs 4/3, quoted-printable 3.
    message.addPart(
        "", part, MailMessage::CONTENT_INLINE,
        isAscii(text) ? MailMessage::ENCODING_QUOTED_PRINTABLE : MailMessage::ENCODING_BASE64);
  }
  for (const MailAttachment& a : mail.attachments) {
    if (a.filename.empty() || !printableAscii(a.filename) ||
        a.filename.find_first_of("\"\\/") != std::string::npos)
      throw SmtpRejected("mail not sendable: attachment file name must be plain ASCII");
    checkToken(a.mediaType, "attachment media type");
    message.addPart(a.filename, new Poco::Net::StringPartSource(a.content, a.mediaType, a.filename),
                    MailMessage::CONTENT_ATTACHMENT, MailMessage::ENCODING_BASE64);
  }
}

}  // namespace

SmtpClient::SmtpClient(SmtpSettings settings) : settings_(std::move(settings)) {
  const std::string& s = settings_.starttls;
  if (s != "auto" && s != "required" && s != "never")
    throw std::invalid_argument("smtp starttls must be auto, required or never, not \"" + s + "\"");
  if (settings_.port <= 0 || settings_.port > 65535)
    throw std::invalid_argument("smtp port must be 1 to 65535");
  if (settings_.timeoutMs <= 0) throw std::invalid_argument("smtp timeout must be positive");
}

SmtpClient::~SmtpClient() = default;

void SmtpClient::send(const Mail& mail) const {
  MailMessage message;
  compose(mail, message);  // before dialling: a mail that cannot be sent costs no connection

  const Poco::Timespan timeout(static_cast<long>(settings_.timeoutMs) * 1000);
  const std::string where = settings_.host + ":" + std::to_string(settings_.port);
  std::unique_ptr<Session> session;
  try {
    Poco::Net::StreamSocket socket;
    socket.connect(
        Poco::Net::SocketAddress(settings_.host, static_cast<Poco::UInt16>(settings_.port)),
        timeout);
    socket.setSendTimeout(timeout);
    socket.setReceiveTimeout(timeout);
    // The message goes out in several small writes; with Nagle on, the last one waits for the
    // server's delayed ACK (40 ms on Linux) before the server sees the end of the data.
    socket.setNoDelay(true);
    session = std::make_unique<Session>(socket);
    session->setTimeout(timeout);

    std::vector<std::string> caps = session->hello(settings_.heloName);
    const bool tls = settings_.starttls == "required" ||
                     (settings_.starttls == "auto" && offers(caps, "STARTTLS"));
    if (tls) {
      if (!offers(caps, "STARTTLS"))
        throw TransportError("the server does not offer STARTTLS and smtp starttls is required");
      session->startTls(settings_.host, tlsContext(settings_));
      caps = session->hello(settings_.heloName);  // RFC 3207 §4.2: forget what came before TLS
    }
    if (!settings_.username.empty()) {
      if (offersAuth(caps, "LOGIN"))
        session->authLogin(settings_.username, settings_.password);
      else if (offersAuth(caps, "PLAIN"))
        session->authPlain(settings_.username, settings_.password);
      else
        throw SmtpRejected(std::string("the server offers no AUTH LOGIN or PLAIN") +
                           (tls ? "" : " without TLS"));
    }
    session->sendMessage(message);
    try {
      session->close();  // QUIT; the mail is already accepted, so its failure changes nothing
    } catch (...) {
      session->abort();  // and the destructor's QUIT fails at once instead of waiting again
    }
  } catch (const SmtpRejected&) {
    if (session) session->abort();
    throw;
  } catch (const TransportError&) {
    if (session) session->abort();
    throw;
  } catch (const Poco::Net::SMTPException& e) {
    if (session) session->abort();
    if (e.code() >= 500 && e.code() < 600) throw SmtpRejected(where + ": " + e.displayText());
    throw TransportError(where + ": " + e.displayText());
  } catch (const Poco::Exception& e) {
    if (session) session->abort();
    throw TransportError(where + ": " + e.displayText());
  } catch (const std::exception& e) {
    if (session) session->abort();
    throw TransportError(where + ": " + e.what());
  }
}

}  // namespace dx
