#pragma once
// Settings of the calling thread.
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace dx {

// Names it (at most 15 characters), so that `top -H`, `perf` and a debugger show which of the
// hub's threads is which.
inline void nameThisThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

// Moves its niceness by `delta` from what it has now (Linux's nice is per thread, and a new
// thread starts with its creator's), so that an operator's `nice` on the whole process still
// holds. A negative `delta` needs root, CAP_SYS_NICE or a RLIMIT_NICE that allows it (systemd's
// LimitNICE=). False, and the thread left as it was, otherwise.
inline bool adjustThisThreadNiceness(int delta) {
  const id_t tid = static_cast<id_t>(gettid());
  errno = 0;
  int now = getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return false;
  return setpriority(PRIO_PROCESS, tid, now + delta) == 0;
}

}  // namespace dx
