#include "wal_checkpointer.h"

#include <sqlite3.h>

#include "store.h"
#include "this_thread.h"

namespace dx {

WalCheckpointer::WalCheckpointer(sqlite3* writer, const std::string& file, int pages)
    : writer_(writer), pages_(pages) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw StoreError("cannot open " + file + " for checkpoints: " + why);
  }
  sqlite3_busy_timeout(db_, 10000);
  // The copy into the database file is fsync'd before the WAL is reused.
  sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  thread_ = std::thread([this] { run(); });
  sqlite3_wal_hook(writer_, &WalCheckpointer::onCommit, this);  // replaces autocheckpoint
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_close(db_);
}

int WalCheckpointer::onCommit(void* self, sqlite3*, const char*, int walPages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  c->walPages_ = walPages;
  // Past twice the threshold the writer copies the rest itself (beforeWrite); the thread is
  // left to finish its pass, so that the two do not keep each other out.
  if (walPages >= c->pages_ && walPages <= 2 * c->pages_) {
    {
      std::lock_guard lock(c->mutex_);
      c->due_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::beforeWrite() {
  // The WAL starts again from its beginning only when a write begins with all of it copied and
  // no reader in it. Under steady load the thread's copy is always a few commits behind, so past
  // twice the threshold the writer copies that remainder itself (PASSIVE: at once, or not at all
  // while the thread is still in its last pass; then at the next write) and the write about to
  // begin starts the WAL again.
  if (walPages_ > 2 * pages_)
    sqlite3_wal_checkpoint_v2(writer_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

void WalCheckpointer::run() {
  nameThisThread("dx-checkpoint");
  for (;;) {
    bool last;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return due_ || stopping_; });
      due_ = false;
      last = stopping_;
    }
    // PASSIVE: copies what no reader still needs, and waits for nobody. A failure (disk full)
    // leaves the pages in the WAL, where they are safe; the next commit wakes this again.
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (last) return;
  }
}

}  // namespace dx
