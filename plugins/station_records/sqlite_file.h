#pragma once
// One SQLite file of the connector's own (state_dir), opened through Poco::Data: created 0600
// (it holds case records), WAL, fsync on every commit, the schema applied on open.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Data/Session.h>

namespace dx::station_records {

// Raised for any failure of the connector's own files; the message names the file.
struct StateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Opens (creating) `path` and runs `schema` (CREATE … IF NOT EXISTS statements). Throws
// StateError naming the file.
std::unique_ptr<Poco::Data::Session> openSqlite(const std::string& path,
                                                const std::vector<const char*>& schema);

}  // namespace dx::station_records
