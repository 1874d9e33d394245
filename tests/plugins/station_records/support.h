#pragma once
// Shared by the station_records tests (header-only: the build takes only *_test.cpp files):
// the dev PKI and a registry for it, a fake ConnectorContext that runs what the hub's pipeline
// would (signature, schema, dedupe, a signed receipt) and records what it got, a fake district
// hub (HTTPS with client certificates) that can be down, busy or lose its answers, and helpers
// for folders and files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/TemporaryFile.h>
#include <Poco/ThreadPool.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "dx/connector.h"
#include "jws.h"
#include "message_validator.h"
#include "pipeline.h"
#include "receipt.h"
#include "registry.h"
#include "strict_json.h"
#include "tls.h"

namespace dx::station_records::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const std::string& pkiDir() {
  static std::string dir;
  static std::once_flag once;
  std::call_once(once, [] {
    dir = std::string(DX_BINARY_DIR) + "/test-pki";
    std::string cmd = "cd '" DX_SOURCE_DIR "' && flock '" + dir + ".lock' certs/make-dev-pki.sh '" +
                      dir + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-dev-pki.sh failed: " + cmd);
  });
  return dir;
}

inline std::string schemasDir() {
  return std::string(DX_SOURCE_DIR) + "/config/schemas";
}

inline const Registry& registry() {
  static const HubConfig config = [] {
    const std::string& pki = pkiDir();
    std::string path = Poco::TemporaryFile::tempName() + "-station-records.json";
    Poco::TemporaryFile::registerForDeletion(path);
    std::ofstream(path) << R"({"hub": {"id": "hub.samastipur", "district": "Samastipur",
 "listen": "127.0.0.1:0"}, "pki": {"dir": ")"
                        << pki << R"(", "ca": ")" << pki << R"(/ca.crt", "crl": ")" << pki
                        << R"(/ca.crl"}, "store": {"url": "sqlite::memory:"}, "schemas": ")"
                        << schemasDir() << R"(", "policy": ")" << DX_SOURCE_DIR
                        << R"(/config/policy.json", "participants": [
  {"id": "cc.samastipur", "role": "cyber_cell"},
  {"id": "sp.samastipur", "role": "sp_office"},
  {"id": "ps.samastipur.nagar", "role": "station"},
  {"id": "ps.samastipur.mufassil", "role": "station"},
  {"id": "ps.samastipur.rosera", "role": "station"}]})";
    return loadConfig(path);
  }();
  static const TrustStore trust(config.caPath, config.crlPath);
  static const Registry registry(config, trust);
  return registry;
}

inline const MessageValidator& validator() {
  static const MessageValidator v(schemasDir());
  return v;
}

inline Signer signerOf(const std::string& id) {
  return Signer::fromFiles(pkiDir() + "/" + id + ".key", pkiDir() + "/" + id + ".crt");
}

inline TlsIdentity tlsOf(const std::string& id) {
  return {pkiDir() + "/" + id + ".crt", pkiDir() + "/" + id + ".key", pkiDir() + "/ca.crt",
          pkiDir() + "/ca.crl"};
}

inline std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}

// A message as a receiving hub records it.
struct Received {
  std::string id, from, to, caseNo, created, body, jws, payload;
};

// What a hub does with a JWS, in brief: verify, validate, dedupe by id, sign a receipt.
class MiniHub {
 public:
  MiniHub() : hub_(signerOf("hub.samastipur")) {}

  // status, code, body (receipt or problem+json)
  SubmitResult accept(const std::string& jws) {
    Expected<VerifiedMessage> v = verifyJws(jws, registry(), SystemClock::instance().unixSeconds());
    if (!v) return refuse(v.problem());
    if (std::optional<Problem> p = validator().validate(v->envelope)) return refuse(*p);
    const rapidjson::Value& env = v->envelope;
    std::lock_guard lock(mutex_);
    std::string id(v->id());
    if (auto it = receipts_.find(id); it != receipts_.end()) return {200, "duplicate", it->second};
    if (refuseCases_.count(str(env["body"], "case_no")))
      return refuse({"forbidden", "the test hub refuses this case"});
    if (staleIds_.count(id)) return refuse({"stale", "created is outside the test hub's window"});
    Received r;
    r.id = id;
    r.from = std::string(v->from());
    r.to = std::string(v->to());
    r.caseNo = str(env["body"], "case_no");
    r.created = std::string(v->created());
    r.payload = v->payload;
    r.jws = jws;
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    env["body"].Accept(w);
    r.body = buf.GetString();
    received_.push_back(r);
    std::string now = formatRfc3339(SystemClock::instance().unixSeconds());
    std::string receipt = hub_.sign(receiptPayload("hub.samastipur", r.from, id, v->digest, now,
                                                   static_cast<std::int64_t>(received_.size()),
                                                   std::string(64, 'a')));
    receipts_[id] = receipt;
    return {202, "accepted", receipt};
  }

  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::string receiptFor(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = receipts_.find(id);
    return it == receipts_.end() ? std::string() : it->second;
  }
  void refuseCase(const std::string& caseNo) {
    std::lock_guard lock(mutex_);
    refuseCases_.insert(caseNo);
  }
  // Refuses this message id as stale (as a hub that checks duplicates first: it never stored
  // it).
  void staleId(const std::string& id) {
    std::lock_guard lock(mutex_);
    staleIds_.insert(id);
  }

 private:
  static SubmitResult refuse(const Problem& p) {
    int status = problemStatus(p.code);
    return {status, p.code, problemJson(p, status)};
  }
  Signer hub_;
  std::mutex mutex_;
  std::vector<Received> received_;
  std::map<std::string, std::string> receipts_;
  std::set<std::string> refuseCases_;
  std::set<std::string> staleIds_;
};

class SignerAdapter : public MessageSigner {
 public:
  explicit SignerAdapter(Signer s) : signer_(std::move(s)), id_(signer_.participantId()) {}
  const std::string& participantId() const override { return id_; }
  std::string sign(const std::string& payloadJson) const override {
    return signer_.sign(payloadJson);
  }

 private:
  Signer signer_;
  std::string id_;
};

// The core as a connector sees it: submit() runs the MiniHub; signers for `acts_for` only.
class FakeContext : public ConnectorContext {
 public:
  explicit FakeContext(std::set<std::string> actsFor) : actsFor_(std::move(actsFor)) {
    Poco::Logger::get("station_records_test").setLevel("warning");
  }
  const std::string& hubId() const override { return hubId_; }
  Poco::Logger& logger() override { return Poco::Logger::get("station_records_test"); }
  SubmitResult submit(const std::string& jws) override {
    if (busy_) return {503, "busy", problemJson({"busy", "the test hub is busy"}, 503)};
    return hub.accept(jws);
  }
  std::shared_ptr<const MessageSigner> signerFor(const std::string& id) override {
    if (!actsFor_.count(id)) throw std::invalid_argument(id + " is not in acts_for");
    return std::make_shared<SignerAdapter>(signerOf(id));
  }
  TlsIdentity hubTls() const override { return tlsOf("hub.samastipur"); }
  TlsIdentity tlsFor(const std::string& id) const override {
    if (!actsFor_.count(id)) throw std::invalid_argument(id + " is not in acts_for");
    return tlsOf(id);
  }
  std::optional<Message> message(const std::string&) override { return std::nullopt; }

  MiniHub hub;
  std::atomic<bool> busy_{false};

 private:
  std::set<std::string> actsFor_;
  std::string hubId_ = "hub.samastipur";
};

// A district hub's POST /v1/messages over TLS with client certificates, on 127.0.0.1 at a port
// chosen at run time. It can be down (no listener), busy (503) or lose its answers (it stores
// the message, then closes the connection without answering).
class FakeDistrict {
 public:
  enum class Mode { Normal, Busy, LoseAnswer };

  FakeDistrict() { up(); }
  ~FakeDistrict() { down(); }

  void up() {
    std::lock_guard lock(serverMutex_);
    if (server_) return;
    Poco::Net::Context::Ptr tls =
        makeServerContext({pkiDir() + "/hub.samastipur.crt", pkiDir() + "/hub.samastipur.key",
                           pkiDir() + "/ca.crt", pkiDir() + "/ca.crl"});
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", port_), 64, tls);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setKeepAlive(true);
    params->setTimeout(Poco::Timespan(5, 0));
    params->setMaxThreads(8);
    pool_ = std::make_unique<Poco::ThreadPool>(1, 8);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), *pool_, socket, params);
    server_->start();
  }
  void down() {
    std::lock_guard lock(serverMutex_);
    if (!server_) return;
    server_->stopAll(true);
    server_.reset();
    pool_->joinAll();
    pool_.reset();
  }
  void mode(Mode m) { mode_ = m; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::vector<Received> received() { return hub.received(); }
  // Every POST it saw: message id and the TLS client's participant.
  std::vector<std::pair<std::string, std::string>> posts() {
    std::lock_guard lock(mutex_);
    return posts_;
  }

  MiniHub hub;

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(FakeDistrict& d) : d_(d) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      std::string body;
      std::istream& in = request.stream();
      char buf[8192];
      while (in.read(buf, sizeof buf) || in.gcount() > 0)
        body.append(buf, static_cast<std::size_t>(in.gcount()));
      std::string client;
      auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
      try {
        Poco::Net::SecureStreamSocket socket(impl->socket());
        if (socket.havePeerCertificate())
          client = participantIdOf(const_cast<X509*>(socket.peerCertificate().certificate()));
      } catch (const Poco::Exception&) {
      }
      Expected<JwsParts> parts = splitJws(body, {});
      std::string id;
      rapidjson::Document env;
      if (parts && !parseStrict(parts->payload, env)) id = str(env, "id");
      {
        std::lock_guard lock(d_.mutex_);
        d_.posts_.emplace_back(id, client);
      }
      SubmitResult r;
      if (request.getMethod() != "POST" || request.getURI() != "/v1/messages") {
        r = {404, "not_found", problemJson({"not_found", "no such route"}, 404)};
      } else if (d_.mode_ == Mode::Busy) {
        r = {503, "busy", problemJson({"busy", "the district hub is busy"}, 503)};
      } else if (client.empty() || client != str(env, "from")) {
        r = {403, "forbidden", problemJson({"forbidden", "the TLS client is not the signer"}, 403)};
      } else {
        r = d_.hub.accept(body);
        if (d_.mode_ == Mode::LoseAnswer) {
          impl->socket().shutdown();  // stored, but the answer never reaches the station
          return;
        }
      }
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
      response.setContentType(r.receipted() ? "application/jose+json" : "application/problem+json");
      response.setContentLength64(static_cast<Poco::Int64>(r.body.size()));
      response.send() << r.body;
    }

   private:
    FakeDistrict& d_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(FakeDistrict& d) : d_(d) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(d_);
    }

   private:
    FakeDistrict& d_;
  };

  std::mutex serverMutex_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  Poco::UInt16 port_ = 0;
  std::atomic<Mode> mode_{Mode::Normal};
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> posts_;
};

// A fresh folder under the system's temp folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dx-station-records-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& sub) const { return path_ + "/" + sub; }

 private:
  std::string path_;
};

// Drops a file into an inbox as a station's software would (a dot-file renamed into place),
// last modified `age` ago so the watcher's settle time has passed; later drops are younger.
inline void drop(const std::string& inbox, const std::string& name, const std::string& content,
                 std::chrono::seconds age = 30s) {
  fs::create_directories(inbox);
  std::string part = inbox + "/." + name + ".part";
  std::ofstream(part, std::ios::binary) << content;
  struct timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= age.count();
  times[1] = times[0];
  ::utimensat(AT_FDCWD, part.c_str(), times, 0);
  fs::rename(part, inbox + "/" + name);
}

inline std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// Settings as the core hands them over: every declared key, its value or its default.
template <class C>
ConnectorSettings settingsFor(const C& connector, const std::map<std::string, std::string>& given) {
  std::map<std::string, std::string> json;
  for (const ConfigKey& k : connector.configKeys()) {
    auto it = given.find(k.name);
    json[k.name] = it != given.end() ? it->second : k.defaultJson;
  }
  for (const auto& [k, v] : given)
    if (!json.count(k)) throw std::invalid_argument("undeclared key " + k);
  return ConnectorSettings(json);
}

inline std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// Waits up to `limit` for `done` to hold.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(15000)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace dx::station_records::test
