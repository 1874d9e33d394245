// dx-sim-bank: a bank's nodal-officer system, simulated. It serves POST /dx/v1/freeze over mutual
// TLS (the hub pushes freeze.request and freeze.release messages with its own certificate),
// checks each message's signature with the sender's certificate, and answers as the scenario
// file says: a signed freeze.response in the answer, or 202 and the response posted to the hub's
// POST /v1/messages later, or a fault (slow, down, failing, a status, garbage, a reset
// connection, a certificate from another CA).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/ThreadPool.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "dx/https_client.h"
#include "jws.h"
#include "strict_json.h"
#include "tls.h"

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using Json = rapidjson::Value;
using namespace std::chrono_literals;

constexpr const char* kUsage =
    R"(usage: dx-sim-bank --id BANK --pki DIR [--listen HOST:PORT] [--hub URL]
                   [--scenario FILE] [--record FILE] [--tls-cert FILE --tls-key FILE]

A bank's nodal-officer system for tests and the demo. Serves POST /dx/v1/freeze over mutual TLS
(a client certificate chained to DIR/ca.crt, not revoked in DIR/ca.crl, is required) with the
bank's certificate DIR/BANK.crt and key DIR/BANK.key. The body is a freeze.request or
freeze.release JWS; its signature is checked with the sender's certificate DIR/<kid>.crt.

  --id BANK          the bank's participant id, e.g. bank.sbi
  --pki DIR          the development PKI folder (certs/make-dev-pki.sh)
  --listen HOST:PORT where to listen (default 127.0.0.1:9443; port 0 picks a free one)
  --hub URL          the hub, e.g. https://127.0.0.1:8443, for answers posted later
                     (accept_async) to its POST /v1/messages as BANK
  --scenario FILE    JSON: how to answer (default: hold every request in full)
  --record FILE      append one JSON line per received message: {"id","type","at","status"}
                     (status 0: the connection was reset instead of answered)
  --tls-cert FILE, --tls-key FILE
                     present this certificate and key in TLS instead of DIR/BANK.crt (a fault:
                     e.g. DIR/test/foreign.crt, from a CA the hub does not trust)

Scenario file (every key optional):
  {"behaviour": "hold_all", ...answer keys...,      the default answer
   "accounts": {"<account number>": {...answer keys...}},   per-account overrides
   "down_for_s": N,     do not listen until N seconds after start
   "fail_first": N,     answer 500 to the first N deliveries, then behave
   "banks": {"<bank id>": {...a scenario...}}}      one file for several banks
Answer keys: "behaviour" (hold_all, hold_part, money_moved, atm, account_not_found,
  accept_async), "held_amount" ("12000.00", hold_part), "outflows" (array of freeze.response
  outflows; an outflow may give "after_min": N instead of "at": N minutes after the request's
  last transaction), "remarks", "answer_after_ms" and "answer" (accept_async: after how long, and
  which behaviour to post), "delay_ms" (answer slowly), "status" (answer this HTTP status),
  "garbage" (true: 200 with a body that is not JSON), "reset" (true: read the request, then
  reset the TCP connection without answering).
SIGTERM or SIGINT stops it (exit 0).
)";

// ---------------------------------------------------------------- options and scenario

struct Options {
  std::string id, pki, listen = "127.0.0.1:9443", hub, scenario, record, tlsCert, tlsKey;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Options parseOptions(int argc, char** argv) {
  Options o;
  const std::map<std::string, std::string*> known = {{"--id", &o.id},
                                                     {"--pki", &o.pki},
                                                     {"--listen", &o.listen},
                                                     {"--hub", &o.hub},
                                                     {"--scenario", &o.scenario},
                                                     {"--record", &o.record},
                                                     {"--tls-cert", &o.tlsCert},
                                                     {"--tls-key", &o.tlsKey}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    std::string value;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto it = known.find(a);
    if (it == known.end()) throw UsageError("unknown option " + a + " (see --help)");
    if (eq == std::string::npos) {
      if (i + 1 >= argc) throw UsageError(a + " needs a value (see --help)");
      value = argv[++i];
    }
    *it->second = value;
  }
  if (o.id.empty() || o.pki.empty()) throw UsageError("give --id and --pki (see --help)");
  if (o.tlsCert.empty() != o.tlsKey.empty())
    throw UsageError("give --tls-cert and --tls-key together (see --help)");
  return o;
}

const std::set<std::string> kBehaviours = {"hold_all", "hold_part",         "money_moved",
                                           "atm",      "account_not_found", "accept_async"};

// How to answer one request. Unset members fall back to the scenario's default.
struct Answer {
  std::optional<std::string> behaviour, heldAmount, remarks, asyncAnswer;
  std::optional<int> answerAfterMs, delayMs, status;
  std::optional<bool> garbage, reset;
  std::shared_ptr<rapidjson::Document> outflows;  // an array, when given

  Answer over(const Answer& base) const {
    Answer a = *this;
    if (!a.behaviour) a.behaviour = base.behaviour;
    if (!a.heldAmount) a.heldAmount = base.heldAmount;
    if (!a.remarks) a.remarks = base.remarks;
    if (!a.asyncAnswer) a.asyncAnswer = base.asyncAnswer;
    if (!a.answerAfterMs) a.answerAfterMs = base.answerAfterMs;
    if (!a.delayMs) a.delayMs = base.delayMs;
    if (!a.status) a.status = base.status;
    if (!a.garbage) a.garbage = base.garbage;
    if (!a.reset) a.reset = base.reset;
    if (!a.outflows) a.outflows = base.outflows;
    return a;
  }
};

struct Scenario {
  Answer byDefault;
  std::map<std::string, Answer> accounts;
  int downForS = 0;
  int failFirst = 0;
  bool usesAsync() const {
    if (byDefault.behaviour == "accept_async") return true;
    for (const auto& [n, a] : accounts)
      if (a.behaviour == "accept_async") return true;
    return false;
  }
};

struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int intOf(const Json& v, const std::string& where) {
  if (!v.IsInt() || v.GetInt() < 0) throw ScenarioError(where + ": must be an integer >= 0");
  return v.GetInt();
}

std::string stringOf(const Json& v, const std::string& where) {
  if (!v.IsString()) throw ScenarioError(where + ": must be a string");
  return v.GetString();
}

// Reads the answer keys of `obj`; other keys must be in `also` (or it is an error).
Answer readAnswer(const Json& obj, const std::string& where, const std::set<std::string>& also) {
  if (!obj.IsObject()) throw ScenarioError(where + ": must be an object");
  Answer a;
  for (auto& m : obj.GetObject()) {
    std::string key = m.name.GetString();
    std::string at = where.empty() ? key : where + "." + key;
    const Json& v = m.value;
    if (key == "behaviour") {
      a.behaviour = stringOf(v, at);
      if (!kBehaviours.count(*a.behaviour))
        throw ScenarioError(at + ": unknown behaviour \"" + *a.behaviour +
                            "\" (hold_all, hold_part, money_moved, atm, account_not_found, "
                            "accept_async)");
    } else if (key == "answer") {
      a.asyncAnswer = stringOf(v, at);
      if (!kBehaviours.count(*a.asyncAnswer) || *a.asyncAnswer == "accept_async")
        throw ScenarioError(at + ": unknown answer behaviour \"" + *a.asyncAnswer + "\"");
    } else if (key == "held_amount") {
      a.heldAmount = stringOf(v, at);
      if (!std::regex_match(*a.heldAmount, std::regex("[0-9]{1,13}(\\.[0-9]{1,2})?")))
        throw ScenarioError(at + ": must be rupees as a string, e.g. \"12000.00\"");
    } else if (key == "remarks") {
      a.remarks = stringOf(v, at);
    } else if (key == "answer_after_ms") {
      a.answerAfterMs = intOf(v, at);
    } else if (key == "delay_ms") {
      a.delayMs = intOf(v, at);
    } else if (key == "status") {
      a.status = intOf(v, at);
      if (*a.status < 100 || *a.status > 599) throw ScenarioError(at + ": must be 100-599");
    } else if (key == "garbage") {
      if (!v.IsBool()) throw ScenarioError(at + ": must be true or false");
      a.garbage = v.GetBool();
    } else if (key == "reset") {
      if (!v.IsBool()) throw ScenarioError(at + ": must be true or false");
      a.reset = v.GetBool();
    } else if (key == "outflows") {
      if (!v.IsArray()) throw ScenarioError(at + ": must be an array");
      a.outflows = std::make_shared<rapidjson::Document>();
      a.outflows->CopyFrom(v, a.outflows->GetAllocator());
      for (auto& o : a.outflows->GetArray())
        if (!o.IsObject()) throw ScenarioError(at + ": every outflow must be an object");
    } else if (!also.count(key)) {
      throw ScenarioError(at + ": unknown key");
    }
  }
  return a;
}

Scenario readScenario(const std::string& path, const std::string& bankId) {
  Scenario s;
  s.byDefault.behaviour = "hold_all";
  if (path.empty()) return s;
  rapidjson::Document doc;
  if (dx::JsonError e = dx::parseStrict(dx::readFile(path), doc))
    throw ScenarioError(path + ": not valid JSON: " + e.message());
  const Json* root = &doc;
  if (root->IsObject() && root->HasMember("banks")) {
    const Json& banks = (*root)["banks"];
    if (!banks.IsObject()) throw ScenarioError(path + ": banks: must be an object");
    if (banks.HasMember(bankId.c_str())) root = &banks[bankId.c_str()];
  }
  try {
    Answer d = readAnswer(*root, "", {"accounts", "down_for_s", "fail_first", "banks"});
    s.byDefault = d.over(s.byDefault);
    if (root->HasMember("down_for_s")) s.downForS = intOf((*root)["down_for_s"], "down_for_s");
    if (root->HasMember("fail_first")) s.failFirst = intOf((*root)["fail_first"], "fail_first");
    if (root->HasMember("accounts")) {
      const Json& accounts = (*root)["accounts"];
      if (!accounts.IsObject()) throw ScenarioError("accounts: must be an object");
      for (auto& m : accounts.GetObject())
        s.accounts[m.name.GetString()] =
            readAnswer(m.value, std::string("accounts.") + m.name.GetString(), {});
    }
  } catch (const ScenarioError& e) {
    throw ScenarioError(path + ": " + e.what());
  }
  return s;
}

// ---------------------------------------------------------------- small helpers

std::string lastFour(const std::string& account) {
  return account.size() <= 4 ? account : "..." + account.substr(account.size() - 4);
}

std::string shortId(const std::string& id) {
  return id.substr(0, 8);
}

std::string nowRfc3339() {
  return dx::formatRfc3339(dx::SystemClock::instance().unixSeconds());
}

const Json* member(const Json& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string str(const Json& obj, const char* name) {
  const Json* v = member(obj, name);
  return v && v->IsString() ? v->GetString() : "";
}

std::string toJson(const Json& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

std::string problemJson(const std::string& code, const std::string& detail) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("code");
  w.String(code);
  w.Key("detail");
  w.String(detail);
  w.EndObject();
  return buf.GetString();
}

// Stops sleeps and waits when the process is asked to stop.
class StopFlag {
 public:
  void set() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool isSet() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopped_;
  }
  // Sleeps for `d`; false if stopped meanwhile.
  bool sleepFor(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mutex_);
    return !cv_.wait_for(lock, d, [this] { return stopped_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

// ---------------------------------------------------------------- the bank

struct Reply {
  int status = 200;
  std::string contentType;
  std::string body;
  bool reset = false;  // reset the connection instead of answering
};

class Bank {
 public:
  Bank(Options options, Scenario scenario)
      : o_(std::move(options)),
        scenario_(std::move(scenario)),
        signer_(
            dx::Signer::fromFiles(o_.pki + "/" + o_.id + ".key", o_.pki + "/" + o_.id + ".crt")),
        trust_(o_.pki + "/ca.crt", o_.pki + "/ca.crl") {
    if (signer_.participantId() != o_.id)
      throw std::runtime_error(o_.pki + "/" + o_.id + ".crt names participant " +
                               signer_.participantId() + ", not " + o_.id);
    std::string tag = o_.id.substr(o_.id.find('.') + 1);
    for (char& c : tag) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    refPrefix_ = tag + "/CYB/" + nowRfc3339().substr(0, 4) + "/";
    if (!o_.hub.empty())
      hub_ = std::make_unique<dx::HttpsClient>(
          o_.hub,
          dx::TlsIdentity{o_.pki + "/" + o_.id + ".crt", o_.pki + "/" + o_.id + ".key",
                          o_.pki + "/ca.crt", o_.pki + "/ca.crl"},
          10000);
  }

  const Options& options() const { return o_; }
  StopFlag& stop() { return stop_; }

  void log(const std::string& line) {
    // One write per line (std::cerr is unbuffered: one write per << otherwise).
    std::string out = nowRfc3339() + " dx-sim-bank " + o_.id + ": " + line + "\n";
    std::lock_guard<std::mutex> lock(logMutex_);
    std::cerr.write(out.data(), static_cast<std::streamsize>(out.size()));
  }

  // Everything a POST /dx/v1/freeze comes to.
  Reply handle(const std::string& body) {
    Parsed parsed = parse(body);
    if (!parsed.error.body.empty()) {
      log("refused a delivery: HTTP " + std::to_string(parsed.error.status) + " " +
          parsed.error.body);
      return parsed.error;
    }
    Incoming& in = parsed.in;
    Answer answer = answerFor(in);

    if (answer.delayMs && *answer.delayMs > 0)
      stop_.sleepFor(std::chrono::milliseconds(*answer.delayMs));

    Reply reply;
    std::string what;
    int n = ++deliveries_;
    if (n <= scenario_.failFirst) {
      reply = {500, "application/problem+json",
               problemJson("unavailable", "simulated failure " + std::to_string(n) + " of " +
                                              std::to_string(scenario_.failFirst))};
      what = "fail_first";
    } else if (answer.reset.value_or(false)) {
      reply = {0, "", "", true};
      what = "connection reset";
    } else if (answer.status) {
      reply = {*answer.status, "application/problem+json",
               problemJson("simulated_status",
                           "the scenario answers " + std::to_string(*answer.status))};
      what = "status";
    } else if (answer.garbage.value_or(false)) {
      reply = {200, "text/html", "<html><body>Service temporarily OK?</body></html>"};
      what = "garbage";
    } else if (in.type == "freeze.release") {
      reply = {200, "application/json", R"({"status":"released"})"};
      what = "release noted";
    } else {
      reply = answerRequest(in, answer, what);
    }
    record(in, reply.status);
    log(in.type + " " + shortId(in.id) +
        (in.account.empty() ? "" : " account " + lastFour(in.account)) + " from " + in.from + ": " +
        what + " -> HTTP " + std::to_string(reply.status));
    return reply;
  }

  void joinAsync() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(asyncMutex_);
      threads.swap(async_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  struct Incoming {
    std::string id, type, from, to, caseId, account, amount, lastTxnAt;
  };
  struct Parsed {
    Incoming in;
    Reply error;  // set when the message is refused
  };

  static Reply refuse(int status, const std::string& code, const std::string& detail) {
    return {status, "application/problem+json", problemJson(code, detail)};
  }

  // Splits, checks the signature with the sender's certificate, and reads the envelope.
  Parsed parse(const std::string& body) {
    Parsed out;
    dx::Expected<dx::JwsParts> parts = dx::splitJws(body, {});
    if (!parts) {
      out.error = refuse(400, "malformed", parts.problem().detail);
      return out;
    }
    rapidjson::Document header, env;
    if (dx::parseStrict(parts->header, header) || dx::parseStrict(parts->payload, env) ||
        !header.IsObject() || !env.IsObject()) {
      out.error = refuse(400, "malformed", "header or payload is not a JSON object");
      return out;
    }
    std::string kid = str(header, "kid"), thumb = str(header, "x5t#S256");
    std::optional<dx::JwsAlg> alg = dx::parseJwsAlg(str(header, "alg"));
    static const std::regex kId("[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)+");
    if (!alg || !std::regex_match(kid, kId)) {
      out.error = refuse(401, "bad_signature", "alg or kid is not acceptable");
      return out;
    }
    try {
      // A sender's certificate is read and checked once (a bank's system would cache it too).
      std::shared_ptr<const dx::Certificate> cert;
      {
        std::lock_guard<std::mutex> lock(certMutex_);
        auto it = certs_.find(kid);
        if (it == certs_.end()) {
          auto loaded = std::make_shared<const dx::Certificate>(
              dx::Certificate::fromPemFile(o_.pki + "/" + kid + ".crt"));
          if (std::optional<std::string> why =
                  trust_.verify(*loaded, dx::SystemClock::instance().unixSeconds())) {
            out.error = refuse(401, "cert_invalid", *why);
            return out;
          }
          it = certs_.emplace(kid, loaded).first;
        }
        cert = it->second;
      }
      if (cert->thumbprint() != thumb || cert->participantId() != kid) {
        out.error = refuse(401, "unknown_key", "x5t#S256 is not the certificate of " + kid);
        return out;
      }
      if (!dx::verifyBytes(*alg, cert->publicKey(), parts->signingInput, parts->signature)) {
        out.error = refuse(401, "bad_signature", "signature does not verify with " + kid);
        return out;
      }
    } catch (const std::exception&) {
      out.error = refuse(401, "unknown_key", "no certificate for " + kid);
      return out;
    }
    Incoming& in = out.in;
    in.id = str(env, "id");
    in.type = str(env, "type");
    in.from = str(env, "from");
    in.to = str(env, "to");
    in.caseId = str(env, "case");
    if (in.from != kid) {
      out.error = refuse(401, "bad_signature", "from is not the signer");
      return out;
    }
    if (in.to != o_.id) {
      out.error = refuse(400, "not_for_us", "this is " + o_.id + ", not " + in.to);
      return out;
    }
    if (in.type != "freeze.request" && in.type != "freeze.release") {
      out.error = refuse(400, "unsupported_type",
                         "this endpoint takes freeze.request and "
                         "freeze.release, not " +
                             in.type);
      return out;
    }
    if (const Json* b = member(env, "body")) {
      in.amount = str(*b, "amount");
      if (const Json* acct = member(*b, "account")) in.account = str(*acct, "number");
      if (const Json* txns = member(*b, "transactions"); txns && txns->IsArray()) {
        std::int64_t latest = 0;
        for (auto& t : txns->GetArray())
          if (auto at = dx::parseRfc3339(str(t, "at")); at && *at > latest) latest = *at;
        if (latest > 0) in.lastTxnAt = dx::formatRfc3339(latest);
      }
    }
    return out;
  }

  Answer answerFor(const Incoming& in) const {
    auto it = scenario_.accounts.find(in.account);
    return it == scenario_.accounts.end() ? scenario_.byDefault
                                          : it->second.over(scenario_.byDefault);
  }

  Reply answerRequest(const Incoming& in, const Answer& answer, std::string& what) {
    {
      std::lock_guard<std::mutex> lock(cacheMutex_);
      auto it = answered_.find(in.id);
      if (it != answered_.end()) {
        what = "repeat of an answered request";
        return it->second;
      }
    }
    std::string behaviour = answer.behaviour.value_or("hold_all");
    Reply reply;
    if (behaviour == "accept_async") {
      int after = answer.answerAfterMs.value_or(1000);
      std::string jws = signedResponse(in, answer, answer.asyncAnswer.value_or("hold_all"));
      reply = {202, "application/json", R"({"status":"accepted"})"};
      what = "accepted; the answer follows in " + std::to_string(after) + " ms";
      std::lock_guard<std::mutex> lock(asyncMutex_);
      async_.emplace_back([this, jws, after, id = in.id] { postLater(jws, after, id); });
    } else {
      reply = {200, "application/jose+json", signedResponse(in, answer, behaviour)};
      what = behaviour;
    }
    std::lock_guard<std::mutex> lock(cacheMutex_);
    answered_[in.id] = reply;
    return reply;
  }

  // The outflows of the scenario with their times filled in.
  void outflowsInto(const Answer& answer, const Incoming& in, Json& out,
                    rapidjson::Document::AllocatorType& a) {
    if (!answer.outflows) return;
    for (auto& o : answer.outflows->GetArray()) {
      Json copy(o, a);
      if (copy.HasMember("after_min")) {
        int min = copy["after_min"].IsInt() ? copy["after_min"].GetInt() : 0;
        copy.RemoveMember("after_min");
        std::int64_t base =
            dx::parseRfc3339(in.lastTxnAt).value_or(dx::SystemClock::instance().unixSeconds());
        std::string at = dx::formatRfc3339(base + 60 * min);
        copy.AddMember("at", Json(at.c_str(), a), a);
      } else if (!copy.HasMember("at")) {
        copy.AddMember("at", Json(nowRfc3339().c_str(), a), a);
      }
      out.PushBack(copy, a);
    }
  }

  std::string signedResponse(const Incoming& in, const Answer& answer,
                             const std::string& behaviour) {
    rapidjson::Document env(rapidjson::kObjectType);
    auto& a = env.GetAllocator();
    auto s = [&a](const std::string& v) { return Json(v.c_str(), a); };
    Json body(rapidjson::kObjectType), outflows(rapidjson::kArrayType);
    std::string status, held = "0.00", remarks;
    if (behaviour == "hold_all") {
      status = "held";
      held = in.amount.empty() ? "0.00" : in.amount;
      remarks = "Lien marked for the full amount.";
    } else if (behaviour == "hold_part") {
      status = "partially_held";
      held = answer.heldAmount.value_or("0.00");
      remarks = "Lien marked on available balance.";
      outflowsInto(answer, in, outflows, a);
    } else if (behaviour == "money_moved") {
      status = "money_moved";
      remarks = "Balance had moved on before the request arrived.";
      outflowsInto(answer, in, outflows, a);
      if (outflows.Empty()) {
        Json o(rapidjson::kObjectType);
        o.AddMember("kind", "other", a);
        o.AddMember("amount", s(in.amount.empty() ? "0.00" : in.amount), a);
        o.AddMember("at", s(nowRfc3339()), a);
        outflows.PushBack(o, a);
      }
    } else if (behaviour == "atm") {
      status = "money_moved";
      remarks = "Withdrawn in cash before the request arrived.";
      outflowsInto(answer, in, outflows, a);
      if (outflows.Empty()) {
        Json o(rapidjson::kObjectType);
        o.AddMember("kind", "atm", a);
        o.AddMember("amount", s(in.amount.empty() ? "0.00" : in.amount), a);
        o.AddMember("at", s(nowRfc3339()), a);
        o.AddMember("atm_id", s(refPrefix_.substr(0, refPrefix_.find('/')) + "ATM0001"), a);
        o.AddMember("place", "Samastipur", a);
        outflows.PushBack(o, a);
      }
    } else {  // account_not_found
      status = "account_not_found";
      remarks = "No such account at this bank.";
    }
    if (answer.remarks) remarks = *answer.remarks;
    body.AddMember("status", s(status), a);
    body.AddMember("held_amount", s(held), a);
    char ref[16];
    std::snprintf(ref, sizeof ref, "%06d", ++refCounter_);
    body.AddMember("bank_ref", s(refPrefix_ + ref), a);
    body.AddMember("outflows", outflows, a);
    if (!remarks.empty()) body.AddMember("remarks", s(remarks), a);

    env.AddMember("id", s(dx::newUuid()), a);
    env.AddMember("type", "freeze.response", a);
    env.AddMember("from", s(o_.id), a);
    env.AddMember("to", s(in.from), a);
    env.AddMember("created", s(nowRfc3339()), a);
    env.AddMember("ref", s(in.id), a);
    if (!in.caseId.empty()) env.AddMember("case", s(in.caseId), a);
    env.AddMember("body", body, a);
    return signer_.sign(toJson(env));
  }

  // accept_async: the answer goes to the hub's POST /v1/messages after `afterMs`; a transport
  // failure or 5xx is tried again a few times.
  void postLater(const std::string& jws, int afterMs, const std::string& requestId) {
    if (!stop_.sleepFor(std::chrono::milliseconds(afterMs))) return;
    if (!hub_) {
      log("cannot post the answer to " + shortId(requestId) + ": no --hub given");
      return;
    }
    for (int attempt = 1; attempt <= 5; ++attempt) {
      try {
        dx::HttpResponse r = hub_->post("/v1/messages", "application/jose+json", jws);
        std::string code = r.status == 200 || r.status == 202 ? "receipted" : "refused";
        rapidjson::Document problem;
        if (!dx::parseStrict(r.body, problem) && problem.IsObject() && problem.HasMember("code"))
          code = str(problem, "code");
        log("posted the answer to " + shortId(requestId) + " to the hub: HTTP " +
            std::to_string(r.status) + " " + code);
        if (r.status < 500) return;
      } catch (const dx::TransportError& e) {
        log("posting the answer to " + shortId(requestId) + " failed: " + e.what());
      }
      if (!stop_.sleepFor(1000ms)) return;
    }
  }

  void record(const Incoming& in, int status) {
    if (o_.record.empty()) return;
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("id");
    w.String(in.id);
    w.Key("type");
    w.String(in.type);
    w.Key("at");
    w.String(nowRfc3339());
    w.Key("status");
    w.Int(status);
    w.EndObject();
    std::lock_guard<std::mutex> lock(recordMutex_);
    std::ofstream out(o_.record, std::ios::app);
    out << buf.GetString() << "\n";
  }

  Options o_;
  Scenario scenario_;
  dx::Signer signer_;
  dx::TrustStore trust_;
  std::mutex certMutex_;
  std::map<std::string, std::shared_ptr<const dx::Certificate>> certs_;
  std::unique_ptr<dx::HttpsClient> hub_;
  std::string refPrefix_;
  std::atomic<int> refCounter_{0};
  std::atomic<int> deliveries_{0};
  StopFlag stop_;
  std::mutex logMutex_, recordMutex_, cacheMutex_, asyncMutex_;
  std::map<std::string, Reply> answered_;  // request id -> the answer given
  std::vector<std::thread> async_;
};

// ---------------------------------------------------------------- HTTP

constexpr std::size_t kMaxBody = 1 << 20;

bool hasClientCertificate(HTTPServerRequest& request) {
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  if (!impl) return false;
  try {
    Poco::Net::SecureStreamSocket socket(impl->socket());
    return socket.havePeerCertificate();
  } catch (const Poco::Exception&) {
    return false;
  }
}

// Closes the request's TCP connection with a reset (SO_LINGER 0, no TLS close_notify): what a
// crashing load balancer does. False if the socket could not be reached.
bool resetConnection(HTTPServerRequest& request) {
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  if (!impl) return false;
  try {
    Poco::Net::SecureStreamSocket socket(impl->socket());
    socket.setLinger(true, 0);
    socket.abort();
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

class FreezeHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit FreezeHandler(Bank& bank) : bank_(bank) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    Reply reply;
    if (request.getURI() != "/dx/v1/freeze") {
      reply = {404, "application/problem+json", problemJson("not_found", "POST /dx/v1/freeze")};
    } else if (request.getMethod() != "POST") {
      reply = {405, "application/problem+json", problemJson("method", "POST only")};
    } else if (!hasClientCertificate(request)) {
      reply = {401, "application/problem+json",
               problemJson("unauthenticated", "a client certificate is required")};
    } else if (request.hasContentLength() &&
               request.getContentLength64() > static_cast<Poco::Int64>(kMaxBody)) {
      reply = {413, "application/problem+json", problemJson("too_large", "over 1 MiB")};
    } else {
      std::string body;
      std::istream& in = request.stream();
      char buf[16384];
      while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        body.append(buf, static_cast<std::size_t>(in.gcount()));
        if (body.size() > kMaxBody) break;
      }
      reply = body.size() > kMaxBody
                  ? Reply{413, "application/problem+json", problemJson("too_large", "over 1 MiB")}
                  : bank_.handle(body);
    }
    if (reply.reset && resetConnection(request)) return;
    response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(reply.status));
    if (!reply.contentType.empty()) response.setContentType(reply.contentType);
    response.sendBuffer(reply.body.data(), reply.body.size());
  }

 private:
  Bank& bank_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Bank& bank) : bank_(bank) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new FreezeHandler(bank_);
  }

 private:
  Bank& bank_;
};

// Waits for SIGTERM or SIGINT (blocked in every thread) up to `timeout`; true if one came.
bool waitForSignal(const sigset_t& set, std::optional<std::chrono::seconds> timeout) {
  for (;;) {
    int sig = 0;
    if (!timeout) {
      if (sigwait(&set, &sig) == 0) return true;
      continue;
    }
    timespec ts{static_cast<time_t>(timeout->count()), 0};
    int r = sigtimedwait(&set, nullptr, &ts);
    if (r > 0) return true;
    if (r < 0 && errno == EINTR) continue;
    return false;
  }
}

int run(int argc, char** argv) {
  Options options = parseOptions(argc, argv);
  Scenario scenario = readScenario(options.scenario, options.id);
  if (scenario.usesAsync() && options.hub.empty())
    throw UsageError("the scenario answers accept_async: give --hub URL");

  // Every thread started from here on inherits this mask; main waits for the signals.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const int downForS = scenario.downForS;
  Bank bank(options, std::move(scenario));
  if (downForS > 0) {
    bank.log("down for " + std::to_string(downForS) + " s");
    if (waitForSignal(set, std::chrono::seconds(downForS))) return 0;
  }

  Poco::Net::Context::Ptr tls = dx::makeServerContext(
      {options.tlsCert.empty() ? options.pki + "/" + options.id + ".crt" : options.tlsCert,
       options.tlsKey.empty() ? options.pki + "/" + options.id + ".key" : options.tlsKey,
       options.pki + "/ca.crt", options.pki + "/ca.crl"});
  Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress(options.listen), 64, tls);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  params->setTimeout(Poco::Timespan(10, 0));
  params->setServerName("dx-sim-bank");
  Poco::ThreadPool threads(2, 32, 60);
  Poco::Net::HTTPServer server(new Factory(bank), threads, socket, params);
  server.start();
  bank.log("listening on " + socket.address().toString() + " (POST /dx/v1/freeze)");

  waitForSignal(set, std::nullopt);
  bank.log("stopping");
  bank.stop().set();  // wakes slow answers and pending async posts
  server.stop();
  server.stopAll(true);
  threads.joinAll();
  bank.joinAsync();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "dx-sim-bank: " << e.what() << "\n";
    return 2;
  } catch (const Poco::Exception& e) {
    std::cerr << "dx-sim-bank: " << e.displayText() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dx-sim-bank: " << e.what() << "\n";
    return 1;
  }
}
