#include "bank_freeze_connector.h"

#include "jws.h"

#include <chrono>
#include <regex>
#include <stdexcept>

#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace dx::bank_freeze {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string shortId(const std::string& id) {
  return id.substr(0, 8);
}

bool isParticipantId(const std::string& id) {
  static const std::regex kId("[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)+");
  return std::regex_match(id, kId);
}

// The `code` member of a problem+json answer, if it is a short token (it goes into the reason and
// the audit log: nothing else of a bank's answer does).
std::string problemCode(const HttpResponse& r) {
  if (r.contentType.find("json") == std::string::npos) return {};
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  auto it = doc.FindMember("code");
  if (it == doc.MemberEnd() || !it->value.IsString()) return {};
  std::string code = it->value.GetString();
  static const std::regex kToken("[A-Za-z0-9_.-]{1,40}");
  return std::regex_match(code, kToken) ? code : std::string();
}

}  // namespace

Settings readSettings(const ConnectorSettings& settings) {
  Settings s;
  rapidjson::Document endpoints;
  const std::string& text = settings.json("endpoints");
  endpoints.Parse(text.c_str(), text.size());
  if (endpoints.HasParseError() || !endpoints.IsObject())
    throw std::invalid_argument("endpoints: must be an object of participant id → https:// URL");
  for (auto& m : endpoints.GetObject()) {
    std::string bank = m.name.GetString();
    std::string key = "endpoints." + bank;
    if (!isParticipantId(bank))
      throw std::invalid_argument(key +
                                  ": not a participant id (lower-case dotted, e.g. bank.sbi)");
    if (!m.value.IsString()) throw std::invalid_argument(key + ": must be a string URL");
    std::string url = m.value.GetString();
    try {
      Poco::URI uri(url);
      if (uri.getScheme() != "https" || uri.getHost().empty() || !uri.getQuery().empty() ||
          !uri.getFragment().empty() || !uri.getUserInfo().empty())
        throw std::invalid_argument(key + ": must be an https:// URL (https://HOST[:PORT][/PATH])");
    } catch (const Poco::Exception&) {
      throw std::invalid_argument(key + ": must be an https:// URL (https://HOST[:PORT][/PATH])");
    }
    s.endpoints[bank] = url;
  }
  s.path = settings.string("path");
  if (s.path.empty() || s.path[0] != '/' || s.path.find_first_of("?# ") != std::string::npos)
    throw std::invalid_argument("path: must be a URL path starting with /, e.g. /dx/v1/freeze");
  std::int64_t timeout = settings.integer("timeout_ms");
  if (timeout < 100 || timeout > 600000)
    throw std::invalid_argument("timeout_ms: must be 100 to 600000 (milliseconds)");
  s.timeoutMs = static_cast<int>(timeout);
  return s;
}

DeliveryResult judgeStatus(const std::string& bank, int status, const std::string& code) {
  std::string why = bank + " answered HTTP " + std::to_string(status);
  if (!code.empty()) why += " (" + code + ")";
  if (status >= 200 && status < 300) return DeliveryResult::delivered();
  if (status == 408 || status == 429 || status >= 500) return DeliveryResult::retry(why);
  return DeliveryResult::reject(why);
}

std::vector<ConfigKey> BankFreezeConnector::configKeys() const {
  return {
      {"endpoints", ConfigKey::Type::Object, "{}",
       "participant id → base URL of the bank's HTTPS endpoint (banks not listed pull from their "
       "inbox)"},
      {"path", ConfigKey::Type::String, "\"/dx/v1/freeze\"",
       "path POSTed to, after the base URL's own path"},
      {"timeout_ms", ConfigKey::Type::Integer, "10000",
       "connect and read timeout of one delivery attempt, in milliseconds"},
  };
}

void BankFreezeConnector::start(ConnectorContext& context, const ConnectorSettings& settings) {
  context_ = &context;
  settings_ = readSettings(settings);
  const TlsIdentity tls = context.hubTls();
  for (const auto& [bank, url] : settings_.endpoints) {
    Poco::URI uri(url);
    std::string base = uri.getPath();
    while (!base.empty() && base.back() == '/') base.pop_back();
    Endpoint e;
    e.client = std::make_unique<HttpsClient>(uri.getScheme() + "://" + uri.getAuthority(), tls,
                                             settings_.timeoutMs);
    e.path = base + settings_.path;
    context.logger().information("bank_freeze: pushing to %s at %s%s", bank,
                                 uri.getScheme() + "://" + uri.getAuthority(), e.path);
    endpoints_.emplace(bank, std::move(e));
  }
}

void BankFreezeConnector::stop() {
  endpoints_.clear();
}

DeliveryResult BankFreezeConnector::deliver(const Message& message) {
  try {
    return push(message, message.to);
  } catch (const std::exception& e) {
    return DeliveryResult::retry(std::string("bank_freeze: ") + e.what());
  } catch (...) {
    return DeliveryResult::retry("bank_freeze: unknown failure");
  }
}

DeliveryResult BankFreezeConnector::push(const Message& message, const std::string& bank) {
  auto it = endpoints_.find(bank);
  if (it == endpoints_.end() || !context_)
    return DeliveryResult::reject("no endpoint configured for " + bank +
                                  "; it pulls from its inbox");
  Poco::Logger& log = context_->logger();
  const auto started = SteadyClock::now();
  auto elapsedMs = [&started] {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started)
            .count());
  };
  HttpResponse r;
  try {
    r = it->second.client->post(it->second.path, "application/jose+json", message.jws);
  } catch (const TransportError& e) {
    log.warning("bank_freeze: %s %s %s: no answer after %s ms: %s", bank, shortId(message.id),
                message.type, elapsedMs(), std::string(e.what()));
    return DeliveryResult::retry(e.what());
  }
  DeliveryResult result = judgeStatus(bank, r.status, problemCode(r));
  std::string line = "bank_freeze: " + bank + " " + shortId(message.id) + " " + message.type +
                     ": HTTP " + std::to_string(r.status) + " in " + elapsedMs() + " ms";
  if (result.kind != DeliveryResult::Kind::Delivered) {
    log.warning("%s: %s", line,
                std::string(result.kind == DeliveryResult::Kind::Retry ? "will be retried"
                                                                       : "refused by the bank"));
    return result;
  }
  // The one strict parse for untrusted input decides whether the body is a flattened JWS.
  if (r.status == 200 && splitJws(r.body, {}).ok()) {
    // The bank answered in the response: its signed freeze.response goes through the pipeline
    // like any message. A refusal there is the answer's problem, not the delivery's.
    SubmitResult s = context_->submit(r.body);
    if (s.receipted())
      log.information("%s; answer submitted: %s", line, s.code);
    else
      log.warning("%s; answer refused by the hub: HTTP %d %s", line, s.status, s.code);
  } else {
    log.information(line);
  }
  return DeliveryResult::delivered();
}

}  // namespace dx::bank_freeze
