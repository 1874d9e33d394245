#include "sqlite_statement.h"

#include <sqlite3.h>

#include "store.h"

namespace dx {

SqliteStatement::SqliteStatement(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
  // PERSISTENT: kept for the connection's life, so SQLite need not reuse its lookaside memory.
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
    fail("compile");
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

void SqliteStatement::fail(const char* what) const {
  throw StoreError(std::string("SQLite ") + what + " failed (" + sqlite3_errmsg(db_) +
                   ") for: " + sql_.substr(0, 80));
}

SqliteStatement::Run::~Run() {
  sqlite3_reset(s_.stmt_);
  sqlite3_clear_bindings(s_.stmt_);
}

SqliteStatement::Run& SqliteStatement::Run::bind(int index, std::string_view text) {
  if (sqlite3_bind_text64(s_.stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                          SQLITE_UTF8) != SQLITE_OK)
    s_.fail("bind");
  return *this;
}

SqliteStatement::Run& SqliteStatement::Run::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(s_.stmt_, index, value) != SQLITE_OK) s_.fail("bind");
  return *this;
}

bool SqliteStatement::Run::step() {
  switch (sqlite3_step(s_.stmt_)) {
    case SQLITE_ROW:
      return true;
    case SQLITE_DONE:
      return false;
    default:
      s_.fail("step");
  }
}

int SqliteStatement::Run::execute() {
  while (step()) {
  }
  return sqlite3_changes(s_.db_);
}

std::string SqliteStatement::Run::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.stmt_, column));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_.stmt_, column)))
           : std::string();
}

std::int64_t SqliteStatement::Run::int64(int column) const {
  return sqlite3_column_int64(s_.stmt_, column);
}

}  // namespace dx
