#include "hub_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>

#include "config.h"
#include "test_support.h"

namespace dx::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Single-quoted for /bin/sh.
std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Launches `program args...` through /bin/sh so that its stdout and stderr go to `outFile`
// (appended), with SIGPIPE back at its default (this test process ignores it, and an ignored
// signal would be inherited across exec) and, where setpriv exists, SIGKILL when this test
// process dies (a test killed by ctest's timeout leaves no hub behind). `exec` keeps the pid:
// it is the program's own.
pid_t launchLogged(const std::string& program, const std::vector<std::string>& args,
                   const std::string& outFile) {
  static const bool haveSetpriv = ::access("/usr/bin/setpriv", X_OK) == 0;
  std::string script =
      std::string("exec ") + (haveSetpriv ? "/usr/bin/setpriv --pdeathsig KILL " : "") +
      "/usr/bin/env --default-signal=PIPE \"$0\" \"$@\" >>" + shellQuote(outFile) + " 2>&1";
  Poco::Process::Args shArgs{"-c", script, program};
  shArgs.insert(shArgs.end(), args.begin(), args.end());
  Poco::ProcessHandle handle = Poco::Process::launch("/bin/sh", shArgs, DX_SOURCE_DIR);
  return handle.id();
}

// Waits for `pid` up to `timeout`; true and its exit code once it has ended.
bool waitPid(pid_t pid, std::chrono::milliseconds timeout, int& code) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      code = exitCodeOf(status);
      return true;
    }
    if (r < 0) {  // not our child any more (already reaped): treat as ended
      code = -1;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

std::string readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string makeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = testRunDir();
  if (base.empty()) base = tmp && *tmp ? tmp : "/tmp";
  Poco::File(base).createDirectories();
  std::string tmpl = base + "/dxhub-it.XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

// Appends what the hub answered to <run dir>/responses/<pid>.txt, for the leak scan.
void recordResponse(const Response& r) {
  static const std::string dir = testRunDir();
  if (dir.empty() || r.status == 0) return;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  static const std::string path = [] {
    Poco::File(dir + "/responses").createDirectories();
    return dir + "/responses/" + std::to_string(::getpid()) + ".txt";
  }();
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << "=== HTTP " << r.status << " " << r.contentType() << "\n" << r.body << "\n";
}

}  // namespace

std::string testRunDir() {
  const char* dir = std::getenv("DX_TEST_RUN_DIR");
  return dir && *dir ? dir : "";
}

const std::string& testPki() {
  static const std::string dir = [] {
    std::string d = std::string(DX_BINARY_DIR) + "/test-pki";
    // ca.crl comes last when the script makes a PKI, so a half-made one is never taken.
    std::vector<std::string> files = {"ca.crt", "ca.crl"};
    for (const char* id :
         {"hub.samastipur", "cc.samastipur", "sp.samastipur", "dm.samastipur", "bank.sbi",
          "bank.pnb", "bank.hdfc", "ps.samastipur.nagar", "ps.samastipur.mufassil",
          "ps.samastipur.kalyanpur", "ps.samastipur.dalsinghsarai", "ps.samastipur.rosera",
          "test/revoked", "test/expired", "test/foreign"}) {
      files.push_back(std::string(id) + ".crt");
      files.push_back(std::string(id) + ".key");
    }
    for (const std::string& f : files)
      if (::access((d + "/" + f).c_str(), R_OK) != 0) return pkiDir();
    return d;
  }();
  return dir;
}

std::string hubProgram() {
  const char* env = std::getenv("DXHUB_PROGRAM");
  return env && *env ? env : DX_HUB_PROGRAM;
}

void initClientTls() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::signal(SIGPIPE, SIG_IGN);
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", testPki() + "/ca.crt",
                               Poco::Net::Context::VERIFY_RELAXED);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject =
        new Poco::Net::RejectCertificateHandler(false);
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, context);
  });
}

// ---------------------------------------------------------------- HubProcess

HubProcess::HubProcess(HubOptions options) : options_(options) {
  initClientTls();
  dir_ = makeTempDir();
  configPath_ = dir_ + "/dxhub.json";
  dbPath_ = options_.dbPath.empty() ? dir_ + "/dxhub.db" : options_.dbPath;
  logPath_ = dir_ + "/dxhub.log";
  port_ = freeLoopbackPort();
  writeConfig();
}

HubProcess::~HubProcess() {
  try {
    stop();
  } catch (...) {
  }
  // A test run's folder keeps them for the leak scan (and whoever reads a failure).
  const char* keep = std::getenv("DX_KEEP_TEST_DIRS");
  if (!(keep && *keep) && testRunDir().empty()) {
    try {
      Poco::File(dir_).remove(true);
    } catch (...) {
    }
  }
}

std::string HubProcess::storeUrl() const {
  return options_.storeUrl.empty() ? "sqlite:" + dbPath_ : options_.storeUrl;
}

void HubProcess::writeConfig() {
  const std::string& pki = testPki();
  const std::string src = DX_SOURCE_DIR;
  auto q = [](const std::string& s) { return jsonString(s); };
  std::ofstream out(configPath_);
  out << "{\"hub\": {\"id\": \"hub.samastipur\", \"district\": \"Samastipur\", "
         "\"district_hi\": \"समस्तीपुर\", \"listen\": "
      << q("127.0.0.1:" + std::to_string(port_)) << "},\n"
      << " \"pki\": {\"dir\": " << q(pki) << ", \"ca\": " << q(pki + "/ca.crt")
      << ", \"crl\": " << q(pki + "/ca.crl") << "},\n"
      << " \"store\": {\"url\": " << q(storeUrl())
      << ", \"lease_seconds\": " << options_.leaseSeconds << "},\n"
      << " \"schemas\": " << q(src + "/config/schemas") << ",\n"
      << " \"policy\": " << q(src + "/config/policy.json") << ",\n"
      << " \"limits\": {\"max_body_bytes\": " << options_.maxBodyBytes
      << ", \"freshness_seconds\": " << options_.freshnessSeconds
      << ", \"max_connections\": " << options_.maxConnections
      << ", \"workers\": " << options_.workers << ", \"queue\": " << options_.queue
      << ", \"read_timeout_ms\": " << options_.readTimeoutMs
      << ", \"request_deadline_s\": " << options_.requestDeadlineS << "},\n"
      << " \"participants\": " << participantsJson(pki)
      << ",\n \"plugins\": " << options_.pluginsJson << "\n}\n";
  if (!out) throw std::runtime_error("cannot write " + configPath_);
}

void HubProcess::start() {
  if (pid_ != 0 && running()) throw std::runtime_error("HubProcess::start: already running");
  const std::string program = hubProgram();
  if (::access(program.c_str(), X_OK) != 0)
    throw std::runtime_error(program +
                             " not found or not executable: build it first "
                             "(cmake --build build --target dxhub)");
  {
    std::ofstream marker(logPath_, std::ios::app);
    marker << "=== test harness: " << program << " serve --config " << configPath_
           << " --listen 127.0.0.1:" << port_ << "\n";
  }
  pid_ = launchLogged(
      program, {"serve", "--config", configPath_, "--listen", "127.0.0.1:" + std::to_string(port_)},
      logPath_);

  Client probe = Client::anonymous(port_);
  probe.setTimeout(1000ms);
  auto deadline = Clock::now() + 15s;
  Response last;
  while (Clock::now() < deadline) {
    if (!running()) {
      throw std::runtime_error("dxhub serve exited with status " + std::to_string(lastExit_) +
                               " before /healthz answered 200. Log (" + logPath_ + "):\n" +
                               logTail());
    }
    last = probe.get("/healthz");
    if (last.status == 200) return;
    probe.close();
    std::this_thread::sleep_for(50ms);
  }
  std::ostringstream why;
  why << last;
  kill();
  throw std::runtime_error("dxhub serve did not answer GET /healthz with 200 within 15 s on port " +
                           std::to_string(port_) + " (last: " + why.str() + "); killed it. Log (" +
                           logPath_ + "):\n" + logTail());
}

bool HubProcess::running() {
  if (pid_ == 0) return false;
  int code = 0;
  if (waitPid(pid_, 0ms, code)) {
    lastExit_ = code;
    pid_ = 0;
    return false;
  }
  return true;
}

void HubProcess::signalTerminate() {
  if (pid_ != 0) ::kill(pid_, SIGTERM);
}

int HubProcess::waitForExit(std::chrono::milliseconds timeout) {
  if (pid_ == 0) return lastExit_;
  int code = 0;
  if (!waitPid(pid_, timeout, code)) return kStillRunning;
  lastExit_ = code;
  pid_ = 0;
  return code;
}

int HubProcess::stop(std::chrono::milliseconds timeout) {
  if (!running()) return lastExit_;
  signalTerminate();
  int code = waitForExit(timeout);
  if (code != kStillRunning) return code;
  kill();
  lastExit_ = -1;
  return -1;
}

void HubProcess::kill() {
  if (pid_ == 0) return;
  ::kill(pid_, SIGKILL);
  int code = 0;
  waitPid(pid_, 10s, code);
  lastExit_ = code;
  pid_ = 0;
}

void HubProcess::restart() {
  stop();
  start();
}

std::string HubProcess::log() const {
  return readWhole(logPath_);
}

std::string HubProcess::logTail(std::size_t maxBytes) const {
  std::string text = log();
  if (text.size() > maxBytes) text = "[...]\n" + text.substr(text.size() - maxBytes);
  return text;
}

CommandResult HubProcess::runCommand(const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout) const {
  static int counter = 0;
  std::string outFile = dir_ + "/command-" + std::to_string(++counter) + ".out";
  CommandResult result;
  pid_t pid = launchLogged(hubProgram(), args, outFile);
  if (!waitPid(pid, timeout, result.exitCode)) {
    ::kill(pid, SIGKILL);
    int ignored = 0;
    waitPid(pid, 10s, ignored);
    result.exitCode = -1;
  }
  result.output = readWhole(outFile);
  return result;
}

// ---------------------------------------------------------------- Response

std::string Response::header(const std::string& name) const {
  std::string key;
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? std::string() : it->second;
}

std::ostream& operator<<(std::ostream& out, const Response& r) {
  if (r.status == 0) return out << "no HTTP answer: " << r.error;
  out << "HTTP " << r.status;
  if (!r.contentType().empty()) out << " " << r.contentType();
  std::string body = r.body.size() > 2000 ? r.body.substr(0, 2000) + "[...]" : r.body;
  return out << ": " << body;
}

// ---------------------------------------------------------------- Client

Client Client::as(int port, const std::string& participantId) {
  return Client(port, testPki() + "/" + participantId + ".crt",
                testPki() + "/" + participantId + ".key");
}

Client Client::anonymous(int port) {
  return Client(port, "", "");
}

Client::Client(int port, const std::string& certPath, const std::string& keyPath) : port_(port) {
  initClientTls();
  context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, keyPath, certPath,
                                    testPki() + "/ca.crt", Poco::Net::Context::VERIFY_RELAXED);
  context_->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

void Client::close() {
  session_.reset();
}

Response Client::post(const std::string& path, const std::string& body,
                      const std::string& contentType) {
  return request(Poco::Net::HTTPRequest::HTTP_POST, path, &body, contentType, body.size());
}

Response Client::get(const std::string& path) {
  return request(Poco::Net::HTTPRequest::HTTP_GET, path, nullptr, "", 0);
}

Response Client::postTruncated(const std::string& path, std::size_t contentLength,
                               const std::string& prefix, const std::string& contentType) {
  Response r =
      request(Poco::Net::HTTPRequest::HTTP_POST, path, &prefix, contentType, contentLength);
  close();
  return r;
}

Poco::Net::HTTPSClientSession& Client::session() {
  if (!session_) {
    session_ = std::make_unique<Poco::Net::HTTPSClientSession>(
        "127.0.0.1", static_cast<Poco::UInt16>(port_), context_);
    session_->setKeepAlive(true);
  }
  session_->setTimeout(Poco::Timespan(static_cast<long>(timeout_.count()) * 1000));
  return *session_;
}

namespace {

// Reads the answer into `response` (the object peekResponse() filled, if it was called).
Response readResponse(Poco::Net::HTTPSClientSession& session,
                      Poco::Net::HTTPResponse&& response = Poco::Net::HTTPResponse()) {
  Response r;
  std::istream& is = session.receiveResponse(response);
  r.status = static_cast<int>(response.getStatus());
  for (const auto& [name, value] : response) {
    std::string key;
    for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[key] = value;
  }
  Poco::StreamCopier::copyToString(is, r.body);
  recordResponse(r);
  return r;
}

}  // namespace

Response Client::send(const std::string& method, const std::string& path,
                      const std::string* body, const std::string& contentType,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
  return request(method, path, body, contentType, body ? body->size() : 0, headers);
}

Response Client::request(const std::string& method, const std::string& path,
                         const std::string* body, const std::string& contentType,
                         std::size_t declaredLength,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  Response r;
  try {
    Poco::Net::HTTPSClientSession& s = session();
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    if (body) {
      if (!contentType.empty()) request.setContentType(contentType);
      request.setContentLength(static_cast<std::streamsize>(declaredLength));
    }
    for (const auto& [name, value] : headers) request.add(name, value);
    std::ostream& os = s.sendRequest(request);
    if (body) os.write(body->data(), static_cast<std::streamsize>(body->size()));
    r = readResponse(s);
    if (Poco::icompare(r.header("connection"), "close") == 0) session_.reset();
  } catch (const Poco::Exception& e) {
    r = Response{};
    r.error = e.displayText();
    session_.reset();
  } catch (const std::exception& e) {
    r = Response{};
    r.error = e.what();
    session_.reset();
  }
  return r;
}

Response Client::upload(Poco::Net::HTTPRequest& request, const std::string& what,
                        const std::function<bool(Poco::Net::HTTPSClientSession&, std::ostream&,
                                                 std::size_t&, std::string&)>& sendMore) {
  Response r;
  std::size_t sent = 0;
  std::string sendError;
  try {
    Poco::Net::HTTPSClientSession& s = session();
    std::ostream& os = s.sendRequest(request);
    os.flush();  // the headers are on the wire
    while (sendMore(s, os, sent, sendError)) {
    }
    r = readResponse(s);
  } catch (const Poco::Exception& e) {
    r = Response{};
    r.error = e.displayText();
  } catch (const std::exception& e) {
    r = Response{};
    r.error = e.what();
  }
  if (r.status == 0)
    r.error += " (after sending " + std::to_string(sent) + " " + what +
               (sendError.empty() ? "" : "; sending failed: " + sendError) + ")";
  session_.reset();
  return r;
}

Response Client::postWatchingForEarlyAnswer(const std::string& path, const std::string& body,
                                            const std::string& contentType) {
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType(contentType);
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  // The body goes straight to the socket, 16 KiB at a time, until the hub answers.
  auto sendMore = [&](Poco::Net::HTTPSClientSession& s, std::ostream&, std::size_t& sent,
                      std::string& sendError) {
    Poco::Net::StreamSocket& socket = s.socket();
    if (sent >= body.size() || socket.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ))
      return false;
    try {
      int n = socket.sendBytes(body.data() + sent,
                               static_cast<int>(std::min<std::size_t>(16384, body.size() - sent)));
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
      return true;
    } catch (const Poco::Exception& e) {
      sendError = e.displayText();
      return false;
    }
  };
  return upload(request, "of " + std::to_string(body.size()) + " body bytes", sendMore);
}

Response Client::postChunkedEndless(const std::string& path, const std::string& chunk,
                                    std::size_t quietBytes, std::size_t maxBytes,
                                    const std::string& contentType) {
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType(contentType);
  request.setChunkedTransferEncoding(true);
  auto sendMore = [&](Poco::Net::HTTPSClientSession& s, std::ostream& os, std::size_t& sent,
                      std::string& sendError) {
    if (sent >= maxBytes) return false;
    if (sent >= quietBytes && s.socket().poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ))
      return false;  // answered
    os.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    os.flush();
    if (!os) {
      sendError = "the connection refused more body";
      return false;
    }
    sent += chunk.size();
    return true;
  };
  return upload(request, "chunked body bytes", sendMore);
}

Response Client::postExpectingContinue(const std::string& path, std::size_t contentLength,
                                       const std::string& contentType) {
  Response r;
  try {
    Poco::Net::HTTPSClientSession& s = session();
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType(contentType);
    request.setContentLength(static_cast<std::streamsize>(contentLength));
    request.setExpectContinue(true);
    s.sendRequest(request).flush();
    Poco::Net::HTTPResponse response;
    if (s.peekResponse(response)) {
      r.status = 100;
    } else {
      r = readResponse(s, std::move(response));
    }
  } catch (const Poco::Exception& e) {
    r = Response{};
    r.error = e.displayText();
  } catch (const std::exception& e) {
    r = Response{};
    r.error = e.what();
  }
  session_.reset();
  return r;
}

}  // namespace dx::test
