#pragma once
// SQLite writes each WAL frame with two write(2) calls, its 24-byte header and its page, so a
// group commit of 40 pages made 80 system calls before its fsync. On the machines the hub runs
// on (virtual, where a system call costs about a microsecond) those calls took more of the
// journal's thread than the fsync itself: 40 writes of 4 KiB take 75 µs here, one write of
// 160 KiB 12 µs.
//
// installWalWriteBuffer() makes SQLite's default VFS one that keeps, per open WAL file, the
// writes that continue each other in memory and hands them to the file as one write: before a
// sync, a read, a truncate, a size query, a file control, a close, or a write that does not
// continue them (and past 120 KiB). What reaches the disk, and in what order, is the same; only
// the number of calls changes. It is sound for the hub's SQLite connections because they commit
// with synchronous=FULL: SQLite syncs a commit's frames before it publishes them in the WAL index,
// so no other connection can look for a frame still held here. Other files (the database, the
// shared-memory index) go to the default VFS untouched.
namespace dx {

// Idempotent; call before the first SQLite connection opens. False if SQLite refused it (the
// hub then runs on SQLite's own VFS, which is correct, only slower).
bool installWalWriteBuffer();

}  // namespace dx
