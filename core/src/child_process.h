#pragma once
// Other programs the hub's tools run (the demo's simulators, the tests' hubs): started with their
// output in a log file, stopped with SIGTERM, then SIGKILL after 5 s.
#include <sys/types.h>

#include <string>
#include <vector>

namespace dx {

class ChildProcess {
 public:
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::string& logPath);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  int stop();      // exit status (128 + signal when a signal ended it; -1 when it had to be killed)
  int wait();      // waits for it to exit by itself; its exit status as stop() gives it
  bool running();  // false once it has exited (reaped)
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
  int status_ = 0;
};

// A free TCP port on 127.0.0.1, chosen now.
int freeLoopbackPort();

}  // namespace dx
