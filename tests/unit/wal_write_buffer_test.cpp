// The WAL write buffer (wal_write_buffer.h) in front of SQLite's own VFS: what it holds back
// changes the number of write calls, never what a committed transaction is, for the connection
// that wrote it, for other connections, for checkpoints, or after the process dies.
#include <csignal>
#include <string>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "store.h"
#include "test_support.h"
#include "wal_write_buffer.h"

namespace dx {
namespace {

// One SQLite connection as the hub's writer has it: WAL, every commit fsync'd.
class Connection {
 public:
  explicit Connection(const std::string& file) {
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA busy_timeout=10000");
  }
  ~Connection() { sqlite3_close(db_); }
  // "" on success, else SQLite's message.
  std::string exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return {};
    std::string why = error ? error : "?";
    sqlite3_free(error);
    return why;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    else
      out = std::string("error: ") + sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    return out;
  }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Transaction `t`: 1 + t % 40 rows of 3,000 bytes, so that some commits are a few frames and
// some are more than the buffer holds (120 KiB) in one write.
std::string transaction(int t) {
  std::string sql = "BEGIN;";
  for (int i = 0; i <= t % 40; ++i)
    sql += "INSERT INTO m(t, body) VALUES(" + std::to_string(t) + ", randomblob(3000));";
  return sql + "COMMIT;";
}
int rowsUpTo(int transactions) {  // rows in transactions 0 .. transactions - 1
  int rows = 0;
  for (int t = 0; t < transactions; ++t) rows += 1 + t % 40;
  return rows;
}

class WalWriteBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As the hub installs it: opening a store does. (Closed again: the test's connections are
    // the only ones, and a fork finds no other thread in SQLite.)
    openStore(db_.url()).reset();
    file_ = db_.url().substr(std::string("sqlite:").size());
    ASSERT_STREQ(sqlite3_vfs_find(nullptr)->zName, "dx-wal-buffer");
    Connection c(file_);
    ASSERT_EQ(c.exec("CREATE TABLE m(id INTEGER PRIMARY KEY, t INTEGER, body BLOB)"), "");
  }
  test::TestDatabase db_{"sqlite"};
  std::string file_;
};

TEST_F(WalWriteBufferTest, OtherConnectionsAndCheckpointsSeeEveryCommit) {
  Connection writer(file_), reader(file_), checkpointer(file_);
  // A small cache makes SQLite spill pages into the WAL in the middle of a transaction and
  // write some of them again before the commit: writes that do not continue each other.
  ASSERT_EQ(writer.exec("PRAGMA cache_size=8"), "");
  ASSERT_EQ(writer.exec("PRAGMA wal_autocheckpoint=0"), "");
  for (int t = 0; t < 120; ++t) {
    ASSERT_EQ(writer.exec(transaction(t)), "") << "transaction " << t;
    ASSERT_EQ(reader.text("SELECT COUNT(*) FROM m"), std::to_string(rowsUpTo(t + 1)));
    ASSERT_EQ(reader.text("SELECT COUNT(*) FROM m WHERE length(body) = 3000"),
              std::to_string(rowsUpTo(t + 1)));
    if (t % 7 == 0) {
      ASSERT_EQ(sqlite3_wal_checkpoint_v2(checkpointer.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                          nullptr, nullptr),
                SQLITE_OK);
    }
  }
  // The WAL copied back and started again from its beginning, then more commits over it.
  ASSERT_EQ(sqlite3_wal_checkpoint_v2(checkpointer.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                      nullptr, nullptr),
            SQLITE_OK);
  for (int t = 120; t < 140; ++t) ASSERT_EQ(writer.exec(transaction(t)), "");
  EXPECT_EQ(reader.text("SELECT COUNT(*) FROM m"), std::to_string(rowsUpTo(140)));
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteBufferTest, EveryCommitSurvivesTheProcessBeingKilledRightAfterIt) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // commits, tells the parent each one, then dies in the middle of the next
    close(report[0]);
    Connection writer(file_);
    for (int t = 0;; ++t) {
      if (t == 60) {
        writer.exec("BEGIN");
        for (int i = 0; i < 30; ++i)
          writer.exec("INSERT INTO m(t, body) VALUES(-1, randomblob(3000))");
        ::kill(::getpid(), SIGKILL);
      }
      if (!writer.exec(transaction(t)).empty()) _exit(2);
      if (write(report[1], &t, sizeof t) != sizeof t) _exit(3);
    }
  }
  close(report[1]);
  int committed = 0, t = 0;
  while (read(report[0], &t, sizeof t) == sizeof t) committed = t + 1;
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exit " << status;
  ASSERT_EQ(committed, 60);

  Connection after(file_);
  EXPECT_EQ(after.text("SELECT COUNT(*) FROM m"), std::to_string(rowsUpTo(committed)));
  EXPECT_EQ(after.text("SELECT COUNT(*) FROM m WHERE t = -1"), "0");
  EXPECT_EQ(after.text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace dx
