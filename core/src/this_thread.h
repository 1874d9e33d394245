#pragma once
// Settings of the calling thread.
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace dx {

// Names it (at most 15 characters), so that `top -H`, `perf` and a debugger show which of the
// hub's threads is which.
inline void nameThisThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

// Gives it the scheduling weight of `niceness` (Linux's nice is per thread), when the process
// may: a negative value needs root, CAP_SYS_NICE or a RLIMIT_NICE that allows it (systemd's
// LimitNICE=). False, and the thread left as it was, otherwise.
inline bool setThisThreadNiceness(int niceness) {
  return setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), niceness) == 0;
}

}  // namespace dx
