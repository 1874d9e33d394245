#include "dm_notices_connector.h"

#include <stdexcept>

#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <rapidjson/document.h>

#include "strict_json.h"

namespace dx::dm_notices {

namespace {

using rapidjson::Value;

constexpr const char* kNoticeType = "notice.awareness";
constexpr const char* kNoticesPath = "/dx/v1/notices";
constexpr const char* kJoseType = "application/jose+json";

rapidjson::Document parsed(const std::string& key, const std::string& json) {
  rapidjson::Document doc;
  if (JsonError e = parseStrict(json, doc)) throw std::invalid_argument(key + ": " + e.message());
  return doc;
}

std::string stringMember(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

// An address as it may stand in an SMTP command: local@domain, no spaces, controls or brackets.
bool plausibleAddress(const std::string& a) {
  auto at = a.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= a.size()) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == ',' || c == '"') return false;
  return true;
}

SmtpSettings readSmtp(const std::string& json, int timeoutMs) {
  rapidjson::Document d = parsed("smtp", json);
  if (!d.IsObject()) throw std::invalid_argument("smtp: expected an object");
  SmtpSettings s;  // defaults: 127.0.0.1, 25, auto
  s.timeoutMs = timeoutMs;
  for (auto& m : d.GetObject()) {
    std::string key = m.name.GetString();
    auto text = [&]() -> std::string {
      if (!m.value.IsString()) throw std::invalid_argument("smtp." + key + ": expected a string");
      return m.value.GetString();
    };
    if (key == "host") {
      s.host = text();
      if (s.host.empty()) throw std::invalid_argument("smtp.host: must not be empty");
    } else if (key == "port") {
      if (!m.value.IsInt() || m.value.GetInt() < 1 || m.value.GetInt() > 65535)
        throw std::invalid_argument("smtp.port: expected an integer 1 to 65535");
      s.port = m.value.GetInt();
    } else if (key == "starttls") {
      s.starttls = text();
      if (s.starttls != "auto" && s.starttls != "required" && s.starttls != "never")
        throw std::invalid_argument("smtp.starttls: must be auto, required or never");
    } else if (key == "username") {
      s.username = text();
    } else if (key == "password") {
      s.password = text();
    } else if (key == "ca_file") {
      s.caFile = text();
    } else {
      throw std::invalid_argument("smtp." + key +
                                  ": unknown key (host, port, starttls, username, password, "
                                  "ca_file)");
    }
  }
  return s;
}

// "https://host:port/prefix" → ("https://host:port", "/prefix/dx/v1/notices").
std::pair<std::string, std::string> splitEndpoint(const std::string& key, const std::string& url) {
  try {
    Poco::URI uri(url);
    if (uri.getScheme() != "https" || uri.getHost().empty() || !uri.getUserInfo().empty() ||
        !uri.getRawQuery().empty() || !uri.getFragment().empty())
      throw std::invalid_argument(key + ": expected an https://host[:port][/path] URL");
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument(key + ": not a URL (" + e.displayText() + ")");
  }
  std::size_t slash = url.find('/', std::string("https://").size());
  std::string base = url.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return {base, prefix + kNoticesPath};
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

std::vector<std::string> stringList(const Value& object, const char* name) {
  std::vector<std::string> out;
  auto it = object.FindMember(name);
  if (it != object.MemberEnd() && it->value.IsArray())
    for (const Value& v : it->value.GetArray())
      if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

// One language's text: the letter number first, the notice, then what it asks for.
struct Labels {
  const char* letterNo;
  const char* audience;
  const char* areas;
  const char* channels;
  const char* respondBy;
  const char* evidence;
};
constexpr Labels kHindi{"पत्रांक", "लक्षित वर्ग",         "क्षेत्र",
                        "माध्यम", "उत्तर की अंतिम तिथि", "हस्ताक्षरित मूल पत्र संलग्न है"};
constexpr Labels kEnglish{"Letter No.", "Audience",   "Areas",
                          "Channels",   "Respond by", "The signed original is attached"};

std::string letterText(const Labels& l, const std::string& letterNo, const std::string& text,
                       const Value& body, const std::string& attachment) {
  std::string out = std::string(l.letterNo) + ": " + letterNo + "\n\n" + text + "\n\n";
  std::string audience = stringMember(body, "audience");
  if (!audience.empty()) out += std::string(l.audience) + ": " + audience + "\n";
  std::string areas = join(stringList(body, "areas"), ", ");
  if (!areas.empty()) out += std::string(l.areas) + ": " + areas + "\n";
  std::string channels = join(stringList(body, "channels"), ", ");
  if (!channels.empty()) out += std::string(l.channels) + ": " + channels + "\n";
  std::string respondBy = stringMember(body, "respond_by");
  if (!respondBy.empty()) out += std::string(l.respondBy) + ": " + respondBy + "\n";
  return out + "\n" + l.evidence + ": " + attachment + "\n";
}

std::string shortId(const std::string& id) {
  return id.substr(0, 8);
}

}  // namespace

Settings readSettings(const ConnectorSettings& cs) {
  Settings s;
  std::int64_t timeout = cs.integer("timeout_ms");
  if (timeout < 100 || timeout > 600000)
    throw std::invalid_argument("timeout_ms: expected 100 to 600000 (milliseconds)");
  s.timeoutMs = static_cast<int>(timeout);
  s.smtp = readSmtp(cs.json("smtp"), s.timeoutMs);

  s.from = cs.string("from");
  if (!plausibleAddress(s.from))
    throw std::invalid_argument("from: expected an e-mail address such as dxhub@district.example");

  rapidjson::Document recipients = parsed("recipients", cs.json("recipients"));
  if (!recipients.IsObject()) throw std::invalid_argument("recipients: expected an object");
  for (auto& m : recipients.GetObject()) {
    std::string id = m.name.GetString();
    std::string key = "recipients." + id;
    if (!m.value.IsArray() || m.value.Empty())
      throw std::invalid_argument(key + ": expected a non-empty array of e-mail addresses");
    std::vector<std::string>& list = s.recipients[id];
    for (const Value& a : m.value.GetArray()) {
      if (!a.IsString() || !plausibleAddress(a.GetString()))
        throw std::invalid_argument(key + ": each entry must be an e-mail address");
      list.emplace_back(a.GetString());
    }
  }

  rapidjson::Document endpoints = parsed("endpoints", cs.json("endpoints"));
  if (!endpoints.IsObject()) throw std::invalid_argument("endpoints: expected an object");
  for (auto& m : endpoints.GetObject()) {
    std::string key = std::string("endpoints.") + m.name.GetString();
    if (!m.value.IsString()) throw std::invalid_argument(key + ": expected a URL string");
    splitEndpoint(key, m.value.GetString());  // checks it
    s.endpoints[m.name.GetString()] = m.value.GetString();
  }
  return s;
}

Mail composeMail(const Message& message, const Settings& settings, const std::string& hubId) {
  rapidjson::Document envelope;
  if (JsonError e = parseStrict(message.payload, envelope))
    throw std::invalid_argument("the envelope is not JSON: " + e.message());
  if (!envelope.IsObject() || stringMember(envelope, "type") != kNoticeType ||
      !envelope.HasMember("body") || !envelope["body"].IsObject())
    throw std::invalid_argument("the envelope is not a notice.awareness with a body");
  const Value& body = envelope["body"];
  std::string letterNo = stringMember(body, "letter_no");
  auto languages = [&](const char* name) -> std::pair<std::string, std::string> {
    auto it = body.FindMember(name);
    if (it == body.MemberEnd() || !it->value.IsObject()) return {};
    return {stringMember(it->value, "hi"), stringMember(it->value, "en")};
  };
  auto [subjectHi, subjectEn] = languages("subject");
  auto [textHi, textEn] = languages("text");
  if (textHi.empty() && textEn.empty())
    throw std::invalid_argument("the notice has no text in Hindi or English");

  Mail mail;
  mail.from = settings.from;
  auto to = settings.recipients.find(message.to);
  if (to != settings.recipients.end()) mail.to = to->second;
  mail.subject = join({subjectEn, subjectHi}, " / ");
  if (mail.subject.empty()) mail.subject = "Notice " + letterNo;
  mail.messageId = message.id + "@" + hubId;
  const std::string attachment = "notice-" + message.id + ".jws";
  if (!textHi.empty())
    mail.texts.emplace_back("hi", letterText(kHindi, letterNo, textHi, body, attachment));
  if (!textEn.empty())
    mail.texts.emplace_back("en", letterText(kEnglish, letterNo, textEn, body, attachment));
  mail.attachments.push_back({attachment, kJoseType, message.jws});
  return mail;
}

std::vector<ConfigKey> DmNoticesConnector::configKeys() const {
  using T = ConfigKey::Type;
  return {
      {"smtp", T::Object, R"({"host":"127.0.0.1","port":25,"starttls":"auto"})",
       "SMTP server: host, port, starttls (auto|required|never), username and password (AUTH "
       "LOGIN), ca_file (trust for STARTTLS; none: the system's)"},
      {"from", T::String, "", "sender address of the notice mails, e.g. dxhub@samastipur.example"},
      {"recipients", T::Object, "",
       "participant id -> array of e-mail addresses its notices are mailed to"},
      {"endpoints", T::Object, "{}",
       "participant id -> base URL; the notice is also POSTed there to /dx/v1/notices "
       "(application/jose+json, the hub's TLS identity)"},
      {"timeout_ms", T::Integer, "10000", "timeout of each SMTP and HTTPS exchange, in ms"},
  };
}

void DmNoticesConnector::start(ConnectorContext& context, const ConnectorSettings& settings) {
  context_ = &context;
  settings_ = readSettings(settings);
  smtp_ = std::make_unique<SmtpClient>(settings_.smtp);
  for (const auto& [id, url] : settings_.endpoints) {
    auto [base, path] = splitEndpoint("endpoints." + id, url);
    endpoints_[id] = {std::make_unique<HttpsClient>(base, context.hubTls(), settings_.timeoutMs),
                      path};
  }
}

// Nothing to end: no threads of our own, and every exchange is bounded by timeout_ms. The clients
// live until the connector is destroyed, after the last deliver() has returned.
void DmNoticesConnector::stop() {}

DeliveryResult DmNoticesConnector::deliver(const Message& message) {
  try {
    if (message.type != kNoticeType)
      return DeliveryResult::reject("dm_notices delivers notice.awareness only");
    auto recipients = settings_.recipients.find(message.to);
    auto endpoint = endpoints_.find(message.to);
    if (recipients == settings_.recipients.end() && endpoint == endpoints_.end())
      return DeliveryResult::reject("dm_notices has no e-mail address or endpoint for " +
                                    message.to);

    // A Retry after the mail went out sends the mail again, with the same Message-ID
    // (<notice id>@<hub id>), on which receivers deduplicate. That happens when the HTTPS push
    // failed and this process restarted before the next attempt (within one run the mail is not
    // repeated, see mailed_), and when the connection broke after the server had the whole mail
    // but before its 250 reached us (SMTP cannot tell us then whether it kept it).
    if (recipients != settings_.recipients.end() && !alreadyMailed(message.id)) {
      Mail mail;
      try {
        mail = composeMail(message, settings_, context_->hubId());
      } catch (const std::invalid_argument& e) {
        return DeliveryResult::reject(std::string("dm_notices: ") + e.what());
      }
      try {
        smtp_->send(mail);
      } catch (const SmtpRejected& e) {
        return DeliveryResult::reject(std::string("smtp refused: ") + e.what());
      } catch (const TransportError& e) {
        return DeliveryResult::retry(std::string("smtp: ") + e.what());
      }
      context_->logger().information("dm_notices: notice " + shortId(message.id) + " mailed for " +
                                     message.to + " (" + std::to_string(mail.to.size()) +
                                     " addresses)");
      if (endpoint != endpoints_.end()) rememberMailed(message.id);
    }
    if (endpoint == endpoints_.end()) return DeliveryResult::delivered();

    DeliveryResult pushed = push(message, *endpoint->second.client, endpoint->second.path);
    if (pushed.kind != DeliveryResult::Kind::Retry) forget(message.id);
    return pushed;
  } catch (const std::exception& e) {
    return DeliveryResult::retry(std::string("dm_notices: ") + e.what());
  } catch (...) {
    return DeliveryResult::retry("dm_notices: unexpected error");
  }
}

DeliveryResult DmNoticesConnector::push(const Message& message, HttpsClient& client,
                                        const std::string& path) {
  HttpResponse r;
  try {
    r = client.post(path, kJoseType, message.jws);
  } catch (const TransportError& e) {
    return DeliveryResult::retry(std::string("https: ") + e.what());
  }
  const std::string status = "https: " + path + " answered " + std::to_string(r.status);
  if (r.status >= 200 && r.status < 300) return DeliveryResult::delivered();
  if (r.status == 408 || r.status == 429 || r.status >= 500) return DeliveryResult::retry(status);
  if (r.status >= 400) {
    std::string detail = r.body.substr(0, 200);
    for (char& c : detail)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return DeliveryResult::reject(status + (detail.empty() ? "" : ": " + detail));
  }
  return DeliveryResult::retry(status + " (unexpected)");
}

bool DmNoticesConnector::alreadyMailed(const std::string& id) {
  std::lock_guard<std::mutex> lock(mailedMutex_);
  return mailed_.count(id) != 0;
}

void DmNoticesConnector::rememberMailed(const std::string& id) {
  std::lock_guard<std::mutex> lock(mailedMutex_);
  if (!mailed_.insert(id).second) return;
  mailedOrder_.push_back(id);
  if (mailedOrder_.size() > kMaxRemembered) {
    mailed_.erase(mailedOrder_.front());
    mailedOrder_.pop_front();
  }
}

void DmNoticesConnector::forget(const std::string& id) {
  std::lock_guard<std::mutex> lock(mailedMutex_);
  mailed_.erase(id);  // its entry in mailedOrder_ goes when it reaches the front
}

}  // namespace dx::dm_notices
