#pragma once
// For the bank_freeze tests: the dev PKI, a registry to verify answers with, a fake connector
// context, signed freeze.request messages, the real dx-sim-bank as a child process, and a tiny
// HTTPS server standing in for the hub's POST /v1/messages. Header-only: the test binary is built
// from *_test.cpp files alone.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/File.h>
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
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "dx/connector.h"
#include "jws.h"
#include "registry.h"
#include "tls.h"

#include "child_process.h"

namespace dx::bank_test {

using namespace std::chrono_literals;

// The dev PKI for tests (build/test-pki), made on first use; safe when tests run at once (flock).
// ctest runs each test in a process of its own: when every file these tests use is in place (the
// script writes ca.crl last), the script is not run again.
inline const std::string& pkiDir() {
  static const std::string dir = [] {
    std::string d = std::string(DX_BINARY_DIR) + "/test-pki";
    bool complete = true;
    for (const char* f : {"ca.crt", "ca.crl"})
      complete = complete && ::access((d + "/" + f).c_str(), R_OK) == 0;
    for (const char* id : {"hub.samastipur", "cc.samastipur", "bank.sbi", "bank.pnb", "bank.hdfc"})
      for (const char* ext : {".crt", ".key"})
        complete = complete && ::access((d + "/" + id + ext).c_str(), R_OK) == 0;
    if (complete) return d;
    std::string cmd = "cd '" DX_SOURCE_DIR "' && flock '" + d + ".lock' certs/make-dev-pki.sh '" +
                      d + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-dev-pki.sh failed: " + cmd);
    return d;
  }();
  return dir;
}

inline std::string makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/dx-bank-test.XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

inline void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A registry of the test PKI's participants, as the hub has it (the way tests/unit does).
inline const Registry& registry() {
  static const std::string dir = makeTempDir();
  static const HubConfig config = [] {
    const std::string& pki = pkiDir();
    std::string path = dir + "/dxhub.json";
    writeFile(
        path,
        R"({"hub": {"id": "hub.samastipur", "district": "Samastipur", "listen": "127.0.0.1:0"},
 "pki": {"dir": ")" +
            pki + R"(", "ca": ")" + pki + R"(/ca.crt", "crl": ")" + pki +
            R"(/ca.crl"},
 "store": {"url": "sqlite::memory:"},
 "schemas": ")" DX_SOURCE_DIR R"(/config/schemas", "policy": ")" DX_SOURCE_DIR
            R"(/config/policy.json",
 "participants": [
  {"id": "cc.samastipur", "role": "cyber_cell"},
  {"id": "bank.sbi", "role": "bank", "ifsc_prefixes": ["SBIN"]},
  {"id": "bank.pnb", "role": "bank", "ifsc_prefixes": ["PUNB"]},
  {"id": "bank.hdfc", "role": "bank", "key_type": "p256", "ifsc_prefixes": ["HDFC"]}
 ]})");
    HubConfig c = loadConfig(path);
    Poco::File(dir).remove(true);
    return c;
  }();
  static const TrustStore trust(config.caPath, config.crlPath);
  static const Registry reg(config, trust);
  return reg;
}

inline Signer signer(const std::string& who) {
  return Signer::fromFiles(pkiDir() + "/" + who + ".key", pkiDir() + "/" + who + ".crt");
}

inline std::string example(const std::string& type) {
  return readFile(std::string(DX_EXAMPLES_DIR) + "/" + type + ".json");
}

// A freeze.request from the cyber cell to `bank`, signed, as the core hands it to deliver().
inline Message freezeRequest(const std::string& bank = "bank.sbi",
                             const std::string& caseId = "31509260012345") {
  Message m;
  m.id = newUuid();
  m.type = "freeze.request";
  m.from = "cc.samastipur";
  m.to = bank;
  m.caseId = caseId;
  m.created = formatRfc3339(SystemClock::instance().unixSeconds());
  m.payload = R"({"id":")" + m.id + R"(","type":"freeze.request","from":"cc.samastipur","to":")" +
              bank + R"(","created":")" + m.created + R"(","case":")" + caseId + R"(","body":)" +
              example("freeze.request") + "}";
  m.jws = signer("cc.samastipur").sign(m.payload);
  return m;
}

// What the connector may use of the core, recorded.
class FakeContext : public ConnectorContext {
 public:
  FakeContext() : logger_(Poco::Logger::get("bank_freeze_test")) {
    static std::once_flag once;
    std::call_once(once, [] {
      Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
      Poco::Logger::get("bank_freeze_test").setChannel(console);
    });
  }
  const std::string& hubId() const override { return hubId_; }
  Poco::Logger& logger() override { return logger_; }
  SubmitResult submit(const std::string& jws) override {
    std::lock_guard<std::mutex> lock(mutex_);
    submitted_.push_back(jws);
    return answer;
  }
  std::shared_ptr<const MessageSigner> signerFor(const std::string& id) override {
    throw std::invalid_argument(id + " is not in acts_for");
  }
  TlsIdentity hubTls() const override {
    const std::string& pki = pkiDir();
    return {pki + "/hub.samastipur.crt", pki + "/hub.samastipur.key", pki + "/ca.crt",
            pki + "/ca.crl"};
  }
  TlsIdentity tlsFor(const std::string& id) const override {
    throw std::invalid_argument(id + " is not in acts_for");
  }
  std::optional<Message> message(const std::string&) override { return std::nullopt; }

  std::vector<std::string> submitted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return submitted_;
  }
  SubmitResult answer{202, "accepted", ""};  // what submit() answers

 private:
  std::string hubId_ = "hub.samastipur";
  Poco::Logger& logger_;
  std::mutex mutex_;
  std::vector<std::string> submitted_;
};

using dx::freeLoopbackPort;  // core/src/child_process.h

inline bool listening(int port) {
  try {
    Poco::Net::StreamSocket s;
    s.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)),
              Poco::Timespan(0, 200000));
    s.close();
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

// The real dx-sim-bank as a child process on a free loopback port, with its own folder for the
// scenario, the record and the log. The destructor stops it (SIGTERM, then SIGKILL after 5 s)
// and removes the folder.
class BankSim {
 public:
  BankSim(const std::string& scenarioJson, const std::string& bank = "bank.sbi",
          const std::string& hubUrl = {})
      : bank_(bank), hub_(hubUrl) {
    dir_ = makeTempDir();
    writeFile(dir_ + "/scenario.json", scenarioJson);
    port_ = freeLoopbackPort();
  }
  ~BankSim() {
    stop();
    if (!std::getenv("DX_KEEP_TEST_DIRS")) {
      try {
        Poco::File(dir_).remove(true);
      } catch (...) {
      }
    }
  }
  BankSim(const BankSim&) = delete;
  BankSim& operator=(const BankSim&) = delete;

  static std::string program() { return std::string(DX_BINARY_DIR) + "/dx-sim-bank"; }

  // Launches it; with `waitUntilListening`, returns once the port accepts connections (throws
  // with the log after 10 s, or if the process ends).
  void start(bool waitUntilListening = true) {
    if (::access(program().c_str(), X_OK) != 0)
      throw std::runtime_error(program() +
                               " is missing: build it (cmake --build build --target dx-sim-bank)");
    std::vector<std::string> args = {"--id",       bank_,
                                     "--pki",      pkiDir(),
                                     "--listen",   "127.0.0.1:" + std::to_string(port_),
                                     "--scenario", dir_ + "/scenario.json",
                                     "--record",   recordPath()};
    if (!hub_.empty()) {
      args.push_back("--hub");
      args.push_back(hub_);
    }
    // /bin/sh for the redirection; setpriv kills the sim if this test process dies; exec keeps
    // the pid the sim's own.
    std::string script =
        "exec /usr/bin/setpriv --pdeathsig KILL /usr/bin/env --default-signal=PIPE \"$0\" \"$@\" "
        ">>'" +
        logPath() + "' 2>&1";
    if (::access("/usr/bin/setpriv", X_OK) != 0)
      script = "exec \"$0\" \"$@\" >>'" + logPath() + "' 2>&1";
    Poco::Process::Args shArgs{"-c", script, program()};
    shArgs.insert(shArgs.end(), args.begin(), args.end());
    pid_ = Poco::Process::launch("/bin/sh", shArgs).id();
    if (waitUntilListening) waitListening(10s);
  }

  void waitListening(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (listening(port_)) return;
      if (exited())
        throw std::runtime_error("dx-sim-bank exited with status " + std::to_string(exit_) +
                                 "; log:\n" + log());
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("dx-sim-bank is not listening after the timeout; log:\n" + log());
  }

  // SIGTERM and wait; the exit status (128 + signal if a signal ended it, -1 if killed).
  int stop() {
    if (pid_ == 0) return exit_;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!exited()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
        exit_ = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    return exit_;
  }

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string recordPath() const { return dir_ + "/record.jsonl"; }
  std::string logPath() const { return dir_ + "/sim.log"; }
  std::string log() const { return readWhole(logPath()); }
  std::vector<std::string> records() const {
    std::vector<std::string> lines;
    std::istringstream in(readWhole(recordPath()));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
    return lines;
  }

 private:
  bool exited() {
    if (pid_ == 0) return true;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return false;
    exit_ = r < 0 ? -1
                  : (WIFEXITED(status) ? WEXITSTATUS(status)
                                       : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1));
    pid_ = 0;
    return true;
  }

  std::string bank_, hub_, dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  int exit_ = 0;
};

// A stand-in for the hub's POST /v1/messages over mutual TLS (the hub's certificate): records
// each body with the participant of the client certificate and answers 202.
class FakeHub {
 public:
  struct Post {
    std::string path, client, body;
  };

  FakeHub() {
    const std::string& pki = pkiDir();
    auto tls = makeServerContext({pki + "/hub.samastipur.crt", pki + "/hub.samastipur.key",
                                  pki + "/ca.crt", pki + "/ca.crl"});
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 16, tls);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setTimeout(Poco::Timespan(5, 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
    server_->start();
  }
  ~FakeHub() { server_->stopAll(true); }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }

  // Waits up to `timeout` for the first post.
  std::optional<Post> waitForPost(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [this] { return !posts_.empty(); })) return std::nullopt;
    return posts_.front();
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return posts_.size();
  }

 private:
  struct Handler : Poco::Net::HTTPRequestHandler {
    explicit Handler(FakeHub& h) : hub(h) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) override {
      Post p;
      p.path = req.getURI();
      Poco::StreamCopier::copyToString(req.stream(), p.body);
      if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&req)) {
        Poco::Net::SecureStreamSocket s(impl->socket());
        if (s.havePeerCertificate())
          p.client = participantIdOf(const_cast<X509*>(s.peerCertificate().certificate()));
      }
      {
        std::lock_guard<std::mutex> lock(hub.mutex_);
        hub.posts_.push_back(p);
      }
      hub.cv_.notify_all();
      res.setStatus(Poco::Net::HTTPResponse::HTTP_ACCEPTED);
      res.setContentType("application/jose+json");
      res.sendBuffer("{}", 2);
    }
    FakeHub& hub;
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    explicit Factory(FakeHub& h) : hub(h) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(hub);
    }
    FakeHub& hub;
  };

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Post> posts_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace dx::bank_test
