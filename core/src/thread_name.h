#pragma once
// Names the calling thread (at most 15 characters), so that `top -H`, `perf` and a debugger
// show which of the hub's threads is which.
#include <pthread.h>

namespace dx {

inline void nameThisThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

}  // namespace dx
