#include "sqlite_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Exception.h>

namespace dx::station_records {

std::unique_ptr<Poco::Data::Session> openSqlite(const std::string& path,
                                                const std::vector<const char*>& schema) {
  using namespace Poco::Data::Keywords;
  static std::once_flag registered;
  std::call_once(registered, [] { Poco::Data::SQLite::Connector::registerConnector(); });
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw StateError("cannot create " + path);
  ::close(fd);
  try {
    auto session = std::make_unique<Poco::Data::Session>("SQLite", path);
    *session << "PRAGMA journal_mode=WAL", now;
    *session << "PRAGMA synchronous=FULL", now;
    *session << "PRAGMA busy_timeout=10000", now;
    for (const char* sql : schema) *session << sql, now;
    return session;
  } catch (const Poco::Exception& e) {
    throw StateError(path + ": " + e.displayText());
  }
}

}  // namespace dx::station_records
