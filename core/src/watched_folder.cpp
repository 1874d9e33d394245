// The watched folder (dx/watched_folder.h).
//
// How a claim stays exclusive, across threads and processes:
//  - a watcher opens the candidate file and takes flock(LOCK_EX | LOCK_NB) on it *before* it
//    renames it into processing/, and keeps that lock (the open descriptor) until done() or
//    reject() has moved the file out of processing/. A lock belongs to an open file
//    description, so two watchers in one process exclude each other as two processes do, and
//    the kernel drops the locks of a process that dies;
//  - after locking, the watcher checks that the name still names the inode it locked (another
//    watcher may have claimed, finished and unlocked it in between), and renames with
//    RENAME_NOREPLACE, so a claim never overwrites a file of the same name in processing/;
//  - a file in processing/ that nobody holds a lock on was left by a watcher that died: the
//    next watcher locks it and takes it over, before any new file.
// The descriptors of claims in flight live in a table of this process (the header has no room
// for them); done() and reject() close them. A claimed file must be finished with one of them:
// until then it stays locked, and no other watcher takes it over.
#include "dx/watched_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <vector>

namespace dx {

namespace {

// Locked descriptors of the claims this process holds, by their path under processing/.
class HeldClaims {
 public:
  void add(const std::string& path, int fd) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = fds_.emplace(path, fd);
    if (!inserted) {  // cannot happen (a path is claimed once), but never leak a descriptor
      ::close(it->second);
      it->second = fd;
    }
  }
  int take(const std::string& path) {
    std::lock_guard lock(mutex_);
    auto it = fds_.find(path);
    if (it == fds_.end()) return -1;
    int fd = it->second;
    fds_.erase(it);
    return fd;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int> fds_;
};

HeldClaims& held() {
  static HeldClaims claims;
  return claims;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir + "/" + name;
}

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error("watched folder: " + what + ": " + std::strerror(err));
}

// rename(2) that never replaces an existing target. Filesystems without RENAME_NOREPLACE get
// link + unlink, which is as exclusive for the target.
bool renameNoReplace(const std::string& from, const std::string& to, int& err) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  err = errno;
  if (err == EINVAL || err == ENOSYS) {
    if (::link(from.c_str(), to.c_str()) == 0) {
      ::unlink(from.c_str());
      return true;
    }
    err = errno;
  }
  return false;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// "export.csv" → "export.csv", "export.1.csv", "export.2.csv", … (the extension stays last, so
// the file still opens with the program it opened with before).
std::string suffixed(const std::string& name, int n) {
  if (n == 0) return name;
  std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name + "." + std::to_string(n);
  return name.substr(0, dot) + "." + std::to_string(n) + name.substr(dot);
}

struct Candidate {
  std::string name;
  struct timespec mtime {};
};

bool olderFirst(const Candidate& a, const Candidate& b) {
  return std::tie(a.mtime.tv_sec, a.mtime.tv_nsec, a.name) <
         std::tie(b.mtime.tv_sec, b.mtime.tv_nsec, b.name);
}

// Regular files of `dir` not starting with '.', oldest first; with `settle`, only those last
// modified at least that long ago. Symbolic links, folders, FIFOs and sockets are never taken.
std::vector<Candidate> candidates(const std::string& dir, std::chrono::milliseconds settle,
                                  bool settledOnly) {
  std::vector<Candidate> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) fail("cannot read " + dir, errno);
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const long long nowNs = static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
  const long long settleNs = static_cast<long long>(settle.count()) * 1000000LL;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    Candidate c{e->d_name, {}};
    struct stat st {};
    if (::lstat(join(dir, c.name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    c.mtime = st.st_mtim;
    const long long mtimeNs =
        static_cast<long long>(c.mtime.tv_sec) * 1000000000LL + c.mtime.tv_nsec;
    if (settledOnly && nowNs - mtimeNs < settleNs) continue;  // still being written, perhaps
    out.push_back(std::move(c));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), olderFirst);
  return out;
}

// Opens and locks `path` if it is a regular file nobody else holds, and checks that `path`
// still names the locked file. The descriptor, or -1.
int lockIfFree(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat locked {
  }, named{};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &locked) != 0 ||
      !S_ISREG(locked.st_mode) || ::lstat(path.c_str(), &named) != 0 ||
      named.st_dev != locked.st_dev || named.st_ino != locked.st_ino) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Moves `from` into `dir` under `name`, or the first free suffixed name; the path it got.
std::string moveUnique(const std::string& from, const std::string& dir, const std::string& name) {
  for (int n = 0;; ++n) {
    std::string to = join(dir, suffixed(name, n));
    int err = 0;
    if (renameNoReplace(from, to, err)) return to;
    if (err != EEXIST) fail("cannot move " + from + " to " + to, err);
  }
}

void writeWhole(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create " + path, errno);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      fail("cannot write " + path, err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
}

std::string processingDir(const std::string& dir) {
  return join(dir, "processing");
}

}  // namespace

WatchedFolder::WatchedFolder(std::string dir, std::chrono::milliseconds settle)
    : dir_(std::move(dir)), settle_(settle) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  for (const char* sub : {"", "/processing", "/done", "/rejected"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir_ + sub, ec);
    if (ec)
      throw std::runtime_error("watched folder: cannot create " + dir_ + sub + ": " + ec.message());
  }
}

std::optional<WatchedFolder::Claimed> WatchedFolder::claimNext() {
  const std::string processing = processingDir(dir_);
  // Files a dead watcher left behind come first: they were claimed before anything now waiting.
  for (const Candidate& c : candidates(processing, settle_, false)) {
    std::string path = join(processing, c.name);
    int fd = lockIfFree(path);
    if (fd < 0) continue;  // a live watcher has it
    held().add(path, fd);
    return Claimed{c.name, path};
  }
  for (const Candidate& c : candidates(dir_, settle_, true)) {
    std::string from = join(dir_, c.name);
    int fd = lockIfFree(from);
    if (fd < 0) continue;  // another watcher is claiming it, or has already taken it
    std::string to = join(processing, c.name);
    int err = 0;
    if (!renameNoReplace(from, to, err)) {
      // EEXIST: a file of this name is still in processing/; this one waits for it to finish.
      ::close(fd);
      continue;
    }
    held().add(to, fd);
    return Claimed{c.name, to};
  }
  return std::nullopt;
}

void WatchedFolder::done(const Claimed& file) {
  int fd = held().take(file.path);
  try {
    moveUnique(file.path, join(dir_, "done"), file.name);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    throw;
  }
  // Unlock only once the file has left processing/, so nobody takes it over in between.
  if (fd >= 0) ::close(fd);
}

void WatchedFolder::reject(const Claimed& file, const std::string& errorsCsv, bool wholeFile) {
  static std::atomic<unsigned> counter{0};
  const std::string rejected = join(dir_, "rejected");
  const std::string target = wholeFile ? rejected : join(dir_, "done");
  const std::string tmp = join(rejected, ".errors-" + std::to_string(::getpid()) + "-" +
                                             std::to_string(counter.fetch_add(1)) + ".tmp");
  int fd = held().take(file.path);
  try {
    writeWhole(tmp, errorsCsv);
    // One name for the file and its report: rejected/<n>.errors.csv beside done/<n> or
    // rejected/<n>, with a suffix when either is taken.
    for (int n = 0;; ++n) {
      std::string name = suffixed(file.name, n);
      std::string errors = join(rejected, name + ".errors.csv");
      std::string moved = join(target, name);
      if (exists(moved)) continue;
      int err = 0;
      if (!renameNoReplace(tmp, errors, err)) {
        if (err == EEXIST) continue;
        fail("cannot write " + errors, err);
      }
      if (renameNoReplace(file.path, moved, err)) break;
      int moveErr = err;
      if (!renameNoReplace(errors, tmp, err)) fail("cannot move " + errors + " back", err);
      if (moveErr != EEXIST) fail("cannot move " + file.path + " to " + moved, moveErr);
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    if (fd >= 0) ::close(fd);
    throw;
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace dx
