#pragma once
// SQLite's WAL checkpoints, moved off the journal's thread. By default SQLite copies the WAL
// back into the database file inside whichever commit crosses 1000 pages, so one group commit
// in a few also wrote and fsync'd a thousand pages while every waiting receipt waited with it.
// Here the writer's connection has
// automatic checkpoints off and a WAL hook that wakes this thread, which checkpoints on its own
// connection (PASSIVE: it never blocks the writer, and a commit never waits for it); past twice
// the threshold, the writer copies the last few commits itself before a write, so the WAL
// starts again from its beginning (beforeWrite). Durability does not depend on any of it:
// every commit is already fsync'd in the WAL.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace dx {

class WalCheckpointer {
 public:
  // Installs the hook on `writer` (an open connection to `file`, which must outlive this);
  // checkpoints once the WAL holds `pages` pages not yet copied.
  WalCheckpointer(sqlite3* writer, const std::string& file, int pages = 1000);
  ~WalCheckpointer();  // removes the hook, checkpoints what is left, stops the thread
  // On the writer's thread before it begins a write: keeps the WAL from growing under load.
  void beforeWrite();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  static int onCommit(void* self, sqlite3*, const char*, int walPages);
  void run();

  sqlite3* writer_;
  sqlite3* db_ = nullptr;  // the checkpointer's own connection
  const int pages_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false, stopping_ = false;
  std::atomic<int> walPages_{0};  // the WAL's size at the last commit
  std::thread thread_;
};

}  // namespace dx
