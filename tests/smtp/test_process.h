#pragma once
// Child processes for tests (an SMTP server, the hub, a simulator): started with fork/exec, output
// to a log file, stopped and reaped by their owner. Each child gets SIGKILL if the test process
// dies first (a test killed by ctest's timeout leaves nothing behind). Header-only: the unit tests
// and the plugin tests are separate binaries. One owner; not thread-safe.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "child_process.h"

extern char** environ;

namespace dx::test {

using dx::freeLoopbackPort;  // core/src/child_process.h

inline std::string readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A fresh folder under $TMPDIR (or /tmp); the caller removes it.
inline std::string makeTempFolder(const std::string& stem) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + stem + ".XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

class ChildProcess {
 public:
  static constexpr int kStillRunning = -2;

  // Runs argv[0] (a path) with argv, the current environment plus `env`, in `cwd` (if not empty),
  // stdout and stderr appended to `logPath`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& logPath,
               const std::map<std::string, std::string>& env = {}, const std::string& cwd = {})
      : logPath_(logPath) {
    // Everything the child needs is made before fork: after it, only async-signal-safe calls.
    std::vector<std::string> envStrings;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      std::string name = entry.substr(0, entry.find('='));
      if (!env.count(name)) envStrings.push_back(entry);
    }
    for (const auto& [name, value] : env) envStrings.push_back(name + "=" + value);
    std::vector<char*> argvPtrs, envPtrs;
    for (const std::string& a : argv) argvPtrs.push_back(const_cast<char*>(a.c_str()));
    argvPtrs.push_back(nullptr);
    for (std::string& e : envStrings) envPtrs.push_back(e.data());
    envPtrs.push_back(nullptr);
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      ::sigaction(SIGPIPE, &dfl, nullptr);  // the test process may ignore it; exec inherits that
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      ::execve(argvPtrs[0], argvPtrs.data(), envPtrs.data());
      ::_exit(127);
    }
  }

  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return logPath_; }
  std::string log() const { return readWholeFile(logPath_); }

  bool running() { return wait(std::chrono::milliseconds(0)) == kStillRunning; }

  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // Its exit status (128 + signal number if a signal ended it), or kStillRunning after `timeout`.
  int wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) {
        exit_ = r < 0                 ? -1
                : WIFEXITED(status)   ? WEXITSTATUS(status)
                : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                      : -1;
        pid_ = 0;
        return exit_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return kStillRunning;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // SIGTERM, then SIGKILL after `grace`; the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (pid_ <= 0) return exit_;
    signal(SIGTERM);
    int code = wait(grace);
    if (code != kStillRunning) return code;
    signal(SIGKILL);
    return wait(std::chrono::seconds(10));
  }

 private:
  std::string logPath_;
  pid_t pid_ = 0;
  int exit_ = 0;
};

// Runs a program to its end (killed after `timeout`): its exit status and what it printed.
struct CommandOutput {
  int exitCode = -1;
  std::string output;
};

inline CommandOutput runCommand(const std::vector<std::string>& argv, const std::string& outFile,
                                std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                const std::map<std::string, std::string>& env = {}) {
  CommandOutput result;
  std::ofstream(outFile, std::ios::trunc).close();
  {
    ChildProcess child(argv, outFile, env);
    result.exitCode = child.wait(timeout);
    if (result.exitCode == ChildProcess::kStillRunning) {
      child.signal(SIGKILL);
      child.wait(std::chrono::seconds(10));
      result.exitCode = -1;
    }
  }
  result.output = readWholeFile(outFile);
  return result;
}

}  // namespace dx::test
