#include "wal_write_buffer.h"

#include <sqlite3.h>

#include <new>
#include <vector>

namespace dx {

namespace {

// The most one WAL file holds back, and so the most one write hands on: SQLite's unix VFS writes
// at most 128 KiB - 1 bytes in one call (it masks the length with 0x1ffff) and calls anything
// shorter than it was given a full disk.
constexpr std::size_t kMaxBytes = 120 * 1024;

sqlite3_vfs* base = nullptr;  // the VFS this one stands in front of
sqlite3_vfs vfs;

// A WAL file: SQLite's sqlite3_file, then the base VFS's own file object (placed right after
// this struct, in the space SQLite allocates from szOsFile), and the writes held back.
struct WalFile {
  sqlite3_file file;
  sqlite3_file* real;
  std::vector<unsigned char>* held;  // bytes that continue each other, from offset `at`
  sqlite3_int64 at;
};

WalFile& self(sqlite3_file* f) {
  return *reinterpret_cast<WalFile*>(f);
}

// Writes what is held back; SQLITE_OK when nothing is left held.
int flush(WalFile& w) {
  if (w.held->empty()) return SQLITE_OK;
  int rc = w.real->pMethods->xWrite(w.real, w.held->data(), static_cast<int>(w.held->size()), w.at);
  w.held->clear();
  return rc;
}

int walClose(sqlite3_file* f) {
  WalFile& w = self(f);
  int written = flush(w);
  int rc = w.real->pMethods->xClose(w.real);
  delete w.held;
  w.held = nullptr;
  return written != SQLITE_OK ? written : rc;
}

int walWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  WalFile& w = self(f);
  std::vector<unsigned char>& held = *w.held;
  bool continues = offset == w.at + static_cast<sqlite3_int64>(held.size());
  if (!held.empty() && (!continues || held.size() + amount > kMaxBytes)) {
    if (int rc = flush(w); rc != SQLITE_OK) return rc;
  }
  if (held.empty()) w.at = offset;
  const auto* bytes = static_cast<const unsigned char*>(data);
  try {
    held.insert(held.end(), bytes, bytes + amount);
  } catch (const std::bad_alloc&) {  // held as it was: write it, then this, as they come
    if (int rc = flush(w); rc != SQLITE_OK) return rc;
    return w.real->pMethods->xWrite(w.real, data, amount, offset);
  }
  return SQLITE_OK;
}

// Every other method: what is held back goes first, then the base VFS's method.
int walRead(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
  WalFile& w = self(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xRead(w.real, data, amount, offset);
}

int walTruncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile& w = self(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xTruncate(w.real, size);
}

int walSync(sqlite3_file* f, int flags) {
  WalFile& w = self(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xSync(w.real, flags);
}

int walFileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile& w = self(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xFileSize(w.real, size);
}

int walFileControl(sqlite3_file* f, int op, void* arg) {
  WalFile& w = self(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xFileControl(w.real, op, arg);
}

int walLock(sqlite3_file* f, int level) {
  return self(f).real->pMethods->xLock(self(f).real, level);
}
int walUnlock(sqlite3_file* f, int level) {
  return self(f).real->pMethods->xUnlock(self(f).real, level);
}
int walCheckReservedLock(sqlite3_file* f, int* out) {
  return self(f).real->pMethods->xCheckReservedLock(self(f).real, out);
}
int walSectorSize(sqlite3_file* f) {
  return self(f).real->pMethods->xSectorSize(self(f).real);
}
int walDeviceCharacteristics(sqlite3_file* f) {
  return self(f).real->pMethods->xDeviceCharacteristics(self(f).real);
}

// Version 1 methods only: SQLite neither maps a WAL file's shared memory (that is the database
// file's) nor memory-maps a WAL file, and asks for neither of a version 1 file.
const sqlite3_io_methods kWalMethods = {1,
                                        walClose,
                                        walRead,
                                        walWrite,
                                        walTruncate,
                                        walSync,
                                        walFileSize,
                                        walLock,
                                        walUnlock,
                                        walCheckReservedLock,
                                        walFileControl,
                                        walSectorSize,
                                        walDeviceCharacteristics,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr};

int vfsOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* outFlags) {
  // Anything but a WAL file is the base VFS's own, in the same space.
  if (!(flags & SQLITE_OPEN_WAL)) return base->xOpen(base, name, f, flags, outFlags);
  WalFile& w = self(f);
  w.file.pMethods = nullptr;  // until it is open: SQLite closes a failed file only if it is set
  w.real = reinterpret_cast<sqlite3_file*>(&w + 1);
  w.held = new (std::nothrow) std::vector<unsigned char>;
  if (!w.held) return SQLITE_NOMEM;
  int rc = base->xOpen(base, name, w.real, flags, outFlags);
  if (rc != SQLITE_OK) {
    if (w.real->pMethods) w.real->pMethods->xClose(w.real);
    delete w.held;
    w.held = nullptr;
    return rc;
  }
  w.at = 0;
  w.file.pMethods = &kWalMethods;
  return SQLITE_OK;
}

}  // namespace

bool installWalWriteBuffer() {
  static bool installed = [] {
    base = sqlite3_vfs_find(nullptr);
    if (!base) return false;
    // The base's methods as they are, but for xOpen (they are given this VFS, whose pAppData is
    // the base's), and room in each file for a WalFile in front of the base's file.
    vfs = *base;
    vfs.pNext = nullptr;
    vfs.zName = "dx-wal-buffer";
    vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + base->szOsFile;
    vfs.xOpen = vfsOpen;
    return sqlite3_vfs_register(&vfs, 1) == SQLITE_OK;
  }();
  return installed;
}

}  // namespace dx
