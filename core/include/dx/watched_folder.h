#pragma once
// A folder that outside software drops files into (a station's records export). Written once, in
// the core. A file is claimed by an atomic rename into processing/, so two watchers never take
// the same file; a file still being written is left alone until it has settled.
#include <chrono>
#include <optional>
#include <string>

namespace dx {

class WatchedFolder {
 public:
  struct Claimed {
    std::string name;  // the file's name as dropped
    std::string path;  // where it is now (under processing/)
  };

  // Creates dir/ and dir/processing, dir/done, dir/rejected when missing. Files left in
  // processing/ by a watcher that died are claimed again first.
  explicit WatchedFolder(std::string dir,
                         std::chrono::milliseconds settle = std::chrono::milliseconds(500));

  // The oldest settled regular file in dir/ (names starting with '.' are ignored: write there,
  // then rename), claimed; nullopt when there is none.
  std::optional<Claimed> claimNext();
  // The file was handled: to done/<name> (a later file of the same name gets a suffix).
  void done(const Claimed& file);
  // Rows were refused: writes rejected/<name>.errors.csv (`errorsCsv` is its content) and, when
  // `wholeFile`, moves the file itself to rejected/ instead of done/.
  void reject(const Claimed& file, const std::string& errorsCsv, bool wholeFile);

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::chrono::milliseconds settle_;
};

}  // namespace dx
