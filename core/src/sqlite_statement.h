#pragma once
// One SQL statement compiled once on one SQLite connection and run many times. Poco::Data 1.11
// compiles its statements again (sqlite3_prepare_v2) on every execution, even a Statement kept
// and re-executed, and on the hub's hot path compiling cost more than running: a quarter of the
// hub's CPU at peak (perf, 2026-11-28). The SQLite store runs its per-message statements
// through this instead; PostgreSQL keeps Poco::Data.
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace dx {

class SqliteStatement {
 public:
  // Compiles `sql` on `db` (which must outlive this); throws StoreError saying what failed.
  SqliteStatement(sqlite3* db, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // One execution: binds, steps, reads columns, and resets the statement when it goes (so a
  // failed or half-read execution never leaves the statement or a read transaction open).
  class Run {
   public:
    ~Run();
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;
    // Parameters by position, from 1 (the text is copied: the caller's buffer may go).
    Run& bind(int index, std::string_view text);
    Run& bind(int index, std::int64_t value);
    // Binds every argument in order, from 1.
    template <class... Args>
    Run& bindAll(const Args&... args) {
      int i = 0;
      (bind(++i, args), ...);
      return *this;
    }
    // The next row: true if there is one; false when done. Throws StoreError on an error.
    bool step();
    // Runs a statement that returns no rows; the number of rows it changed.
    int execute();
    // Columns of the current row, from 0.
    std::string text(int column) const;
    std::int64_t int64(int column) const;

   private:
    friend class SqliteStatement;
    explicit Run(SqliteStatement& s) : s_(s) {}
    SqliteStatement& s_;
  };
  Run run() { return Run(*this); }

 private:
  [[noreturn]] void fail(const char* what) const;
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

}  // namespace dx
