#pragma once
// The integration tests' harness: the real `dxhub serve` as a child process on a free loopback
// port with its own config and SQLite file, and an HTTPS client with a participant's client
// certificate. Nothing here depends on GoogleTest; failures to start are exceptions whose text
// carries the hub's log.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPSClientSession.h>

#include "child_process.h"

namespace dx::test {

// The test PKI of tests/unit/test_support (build/test-pki). pkiDir() runs make-dev-pki.sh, about
// half a second, and ctest runs every test in a process of its own: when every file these tests
// use is already in place this returns the folder without running the script.
const std::string& testPki();

// The program under test: $DXHUB_PROGRAM if set, else the build's dxhub (build/dxhub).
std::string hubProgram();

// Other programs a test runs (simulators) are dx::ChildProcess, and free ports come from
// dx::freeLoopbackPort (core/src/child_process.h).

// The folder a test run leaves its work in ($DX_TEST_RUN_DIR: hubs' folders with their logs and
// databases, and every response body a Client read), for the leak scan that runs after the
// suite; empty when unset (then hubs' folders are temporary and removed).
std::string testRunDir();

// Limits written into the hub's config ("limits" section); defaults keep tests quick.
struct HubOptions {
  int freshnessSeconds = 300;
  std::size_t maxBodyBytes = 1 << 20;
  int maxConnections = 256;
  int workers = 16;
  int queue = 256;
  int readTimeoutMs = 5000;
  int requestDeadlineS = 30;       // limits.request_deadline_s
  std::string pluginsJson = "[]";  // the config's `plugins` array, as JSON text
  std::string dbPath;              // the SQLite file; empty: dxhub.db in the hub's temp folder
  std::string storeUrl;            // the config's store.url; "" = a SQLite file in dir()
  int leaseSeconds = 30;           // store.lease_seconds
};

// What a finished command printed (stdout and stderr together) and its exit status
// (128 + signal number if a signal ended it, -1 if it had to be killed after the timeout).
struct CommandResult {
  int exitCode = -1;
  std::string output;
};

// One `dxhub serve` child process. The constructor writes the config into a fresh temp folder
// (removed again by the destructor) and picks the port; start() launches it. The destructor
// stops a running hub (SIGTERM, then SIGKILL after 10 s). Not thread-safe: one owner.
class HubProcess {
 public:
  explicit HubProcess(HubOptions options = {});
  ~HubProcess();
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  // Launches `dxhub serve --config FILE --listen 127.0.0.1:PORT` and waits (up to 15 s) until
  // GET /healthz answers 200. Throws std::runtime_error, with the log, if the program is
  // missing, exits early or never becomes healthy (the process is killed then).
  void start();
  // SIGTERM; waits up to `timeout`, then SIGKILL. Returns the exit status (128 + signal if a
  // signal ended it; -1 if it had to be killed); if it had already ended, that status (0 if it
  // never ran).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void kill();     // SIGKILL and reap
  void restart();  // stop() + start(): same port, same config, same database
  bool running();  // false once the process has exited (reaps it)
  // Sends SIGTERM and returns at once; waitForExit() collects the status.
  void signalTerminate();
  // Waits up to `timeout` for the process to end; its exit status, or kStillRunning.
  static constexpr int kStillRunning = -2;
  int waitForExit(std::chrono::milliseconds timeout);

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& configPath() const { return configPath_; }
  const std::string& dbPath() const { return dbPath_; }  // the SQLite file when no storeUrl
  std::string storeUrl() const;
  const std::string& logPath() const { return logPath_; }
  std::string log() const;  // everything the hub printed so far, over all its runs

  // Runs the hub's program with `args` (e.g. {"audit", "verify", "--config", configPath()}) from
  // the source root; output captured, killed after `timeout`.
  CommandResult runCommand(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  void writeConfig();
  std::string logTail(std::size_t maxBytes = 8000) const;

  HubOptions options_;
  std::string dir_, configPath_, dbPath_, logPath_;
  int port_ = 0;
  pid_t pid_ = 0;     // 0: not running
  int lastExit_ = 0;  // exit status of the last run that ended
};

// An HTTP answer, or status 0 and `error` when there was none (TLS or connection failure).
struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;

  std::string header(const std::string& name) const;  // any case; empty if absent
  std::string contentType() const { return header("content-type"); }
};
// "HTTP 403 application/problem+json: {...}" or "no HTTP answer: <error>" (for test messages).
std::ostream& operator<<(std::ostream& out, const Response& response);

// HTTPS to 127.0.0.1:port over TLS >= 1.2, verifying the hub against the test PKI's ca.crt
// (RejectCertificateHandler), optionally with a client certificate. Keeps its connection alive
// between requests and reconnects after a failure. One thread at a time.
class Client {
 public:
  // With the test PKI's <participantId>.crt/.key.
  static Client as(int port, const std::string& participantId);
  // Without any client certificate.
  static Client anonymous(int port);
  // With the given certificate and key (PEM paths); both empty for none.
  Client(int port, const std::string& certPath, const std::string& keyPath);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  Response post(const std::string& path, const std::string& body,
                const std::string& contentType = "application/jose+json");
  Response get(const std::string& path);
  // Sends the headers of a POST declaring `contentLength` bytes but only `prefix` of the body,
  // then reads the answer; the connection is closed afterwards.
  Response postTruncated(const std::string& path, std::size_t contentLength,
                         const std::string& prefix,
                         const std::string& contentType = "application/jose+json");
  // Sends a POST with all of `body`, as curl or any plain client does, but stops sending as soon
  // as the hub answers (a 413 may come early) and then reads that answer. `error` tells how
  // far the upload got when there is no answer. The connection is closed afterwards.
  Response postWatchingForEarlyAnswer(const std::string& path, const std::string& body,
                                      const std::string& contentType = "application/jose+json");
  // Sends only the headers of a POST declaring `contentLength` bytes with
  // `Expect: 100-continue` and returns the hub's FIRST answer: 100 means "send the body", any
  // other status is its final word (RFC 9110 §10.1.1). The connection is closed afterwards.
  Response postExpectingContinue(const std::string& path, std::size_t contentLength,
                                 const std::string& contentType = "application/jose+json");
  // Any request, with extra header fields (sent in this order, duplicates allowed).
  Response send(const std::string& method, const std::string& path, const std::string* body,
                const std::string& contentType,
                const std::vector<std::pair<std::string, std::string>>& headers);
  // A POST with `Transfer-Encoding: chunked` whose body never ends: `chunk` again and again,
  // `quietBytes` without looking (TLS 1.3 session tickets make a socket readable before any
  // answer), then until the hub answers or `maxBytes` were sent; then reads the answer. The
  // connection is closed afterwards. `error` tells how far the upload got when there is none.
  Response postChunkedEndless(const std::string& path, const std::string& chunk,
                              std::size_t quietBytes, std::size_t maxBytes,
                              const std::string& contentType = "application/jose+json");
  void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  void close();  // drops the connection (the next request opens a new one)

 private:
  Response request(const std::string& method, const std::string& path, const std::string* body,
                   const std::string& contentType, std::size_t declaredLength,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  Poco::Net::HTTPSClientSession& session();
  // Sends `request`'s headers, then calls `sendMore(session, body stream, sent, sendError)` until
  // it returns false, then reads the answer; `what` describes `sent` in an error. Closes the
  // connection afterwards.
  Response upload(Poco::Net::HTTPRequest& request, const std::string& what,
                  const std::function<bool(Poco::Net::HTTPSClientSession&, std::ostream&,
                                           std::size_t&, std::string&)>& sendMore);

  int port_;
  Poco::Net::Context::Ptr context_;
  std::unique_ptr<Poco::Net::HTTPSClientSession> session_;
  std::chrono::milliseconds timeout_{5000};
};

// Installs the process-wide TLS client set-up once (Poco SSL init, RejectCertificateHandler,
// SIGPIPE ignored so that writing to a connection the hub closed is an error, not death).
void initClientTls();

}  // namespace dx::test
