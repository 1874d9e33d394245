// dx_stress disk-full: the store on a tiny filesystem of its own (an ext4 image, loop-mounted;
// a size-limited tmpfs where loop devices are not allowed). The driver fills it to the last
// block while the hub takes messages, and checks: every answer is a receipt for a message that
// is then stored, or 503 with code store_unavailable (or busy) and nothing stored; the hub keeps
// running; when the space comes back it takes the refused messages again without a restart;
// afterwards SQLite's integrity check and `dxhub audit verify` pass. Then the same for a write
// error that is not a full disk (the WAL file made immutable, then writable again).
//
// Needs root (mount). Without it, or where the container forbids mounting, it skips (77) and
// says why.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "drivers.h"
#include "stress_support.h"

namespace dx::stress {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

int shell(const std::string& command) {
  int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string shellOutput(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// A small filesystem mounted at a fresh folder; unmounted and removed again by the destructor.
class TinyFilesystem {
 public:
  explicit TinyFilesystem(int sizeMib) {
    base_ = fs::temp_directory_path() / ("dxhub-diskfull." + std::to_string(::getpid()));
    fs::create_directories(base_);
    mountPoint_ = (base_ / "mnt").string();
    fs::create_directories(mountPoint_);
    std::string image = (base_ / "store.img").string();
    std::string size = std::to_string(sizeMib) + "M";
    if (::geteuid() != 0) {
      why_ = "not root: mounting a small filesystem needs root";
      return;
    }
    if (shell("truncate -s " + size + " " + image) == 0 && shell("mkfs.ext4 -q -F " + image) == 0 &&
        shell("mount -o loop " + image + " " + mountPoint_) == 0) {
      kind_ = "ext4 image of " + size + "iB, loop-mounted";
      mounted_ = true;
      return;
    }
    if (::mount("tmpfs", mountPoint_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0) {
      kind_ = "tmpfs of " + size + "iB (loop devices not allowed here)";
      mounted_ = true;
      return;
    }
    why_ = std::string("cannot mount a loop image or a tmpfs here: ") + std::strerror(errno);
  }
  ~TinyFilesystem() {
    if (mounted_) ::umount2(mountPoint_.c_str(), MNT_DETACH);
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }
  bool mounted() const { return mounted_; }
  const std::string& whyNot() const { return why_; }
  const std::string& kind() const { return kind_; }
  const std::string& path() const { return mountPoint_; }

 private:
  fs::path base_;
  std::string mountPoint_, kind_, why_;
  bool mounted_ = false;
};

// Writes zeros to `path` until the filesystem has no block left; the bytes written.
std::int64_t fillUp(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return 0;
  static char zeros[65536];
  std::int64_t total = 0;
  for (std::size_t chunk = sizeof zeros; chunk >= 512; chunk /= 2)
    for (;;) {
      ssize_t n = ::write(fd, zeros, chunk);
      if (n <= 0) break;
      total += n;
    }
  ::fsync(fd);
  ::close(fd);
  return total;
}

}  // namespace

int diskFull(int argc, char** argv) {
  Flags flags(argc, argv, {"--size-mib"});
  const int sizeMib = static_cast<int>(flags.number("--size-mib", 8));
  Report report("disk_full",
                "With the store's filesystem full, the hub answers 503 store_unavailable (or "
                "busy), gives no receipt and stores nothing for the refused messages, keeps "
                "running, and takes them once space returns, without a restart; the same for a "
                "write error (the WAL file made unwritable); SQLite's integrity check and the "
                "audit chain verify afterwards.");
  TinyFilesystem tiny(sizeMib);
  if (!tiny.mounted()) {
    std::cerr << "disk-full: SKIPPED: " << tiny.whyNot() << std::endl;
    return kSkipped;
  }
  report.figure("filesystem", tiny.kind());

  test::HubOptions options;
  options.dbPath = tiny.path() + "/dxhub.db";
  test::HubProcess hub(options);
  hub.start();
  test::Client client = test::Client::as(hub.port(), "cc.samastipur");
  std::map<std::string, std::string> receipted;  // id -> digest
  auto send = [&](const Outgoing& m) {
    PostOutcome o = post(client, m);
    if (o.receipted) receipted[m.id] = o.digest;
    return o;
  };

  // 1. Room to spare: messages are receipted.
  int before = 0;
  for (int i = 0; i < 20; ++i) before += send(freezeRequest("bank.sbi")).receipted ? 1 : 0;
  report.check(before == 20,
               "20 of 20 receipted before the disk is full (" + std::to_string(before) + ")");

  // 2. The disk fills up. Commits may still fit in space SQLite already holds (its WAL); sooner
  // or later one needs a new block and must be refused.
  const std::string filler = tiny.path() + "/filler";
  std::int64_t filled = fillUp(filler);
  report.figure("filler_bytes", static_cast<double>(filled));
  std::map<std::string, int> codes;
  std::vector<Outgoing> refused;
  int acceptedWhileFull = 0, otherAnswers = 0;
  for (int i = 0; i < 4000 && refused.size() < 25; ++i) {
    Outgoing m = freezeRequest("bank.sbi");
    PostOutcome o = send(m);
    if (o.receipted) {
      ++acceptedWhileFull;
      fillUp(filler);  // whatever SQLite freed or the filesystem still had: take it too
      continue;
    }
    if (o.status == 503 && (o.code == "store_unavailable" || o.code == "busy")) {
      ++codes[o.code];
      refused.push_back(m);
    } else {
      ++otherAnswers;
      report.check(false, "answer while full: HTTP " + std::to_string(o.status) + " " + o.code +
                              " " + o.error);
    }
  }
  report.check(!refused.empty(),
               "the full disk was noticed: 503 answers (" + std::to_string(refused.size()) + ")");
  report.check(hub.running(), "the hub is still running with its disk full");
  test::Response health = test::Client::anonymous(hub.port()).get("/healthz");
  report.check(health.status == 200, "GET /healthz answers 200 with the disk full");
  int refusedButStored = 0;
  for (const Outgoing& m : refused) refusedButStored += stored(client, m.id).status == 404 ? 0 : 1;
  report.check(refusedButStored == 0,
               "nothing refused was stored (" + std::to_string(refusedButStored) + ")");

  // 3. Space returns: the same messages are taken again, without a restart.
  // Posts each of `messages` until it is receipted (up to 15 s each); how many were.
  auto retake = [&](const std::vector<Outgoing>& messages, const std::string& when) {
    int n = 0;
    for (const Outgoing& m : messages) {
      auto deadline = Steady::now() + 15s;
      for (;;) {
        PostOutcome o = send(m);
        if (o.receipted) {
          ++n;
          break;
        }
        if (Steady::now() > deadline) {
          report.check(false, when + ": HTTP " + std::to_string(o.status) + " " + o.code);
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
    }
    report.check(n == static_cast<int>(messages.size()),
                 "every refused message is receipted " + when + " (" + std::to_string(n) + " of " +
                     std::to_string(messages.size()) + ")");
    return n;
  };
  fs::remove(filler);
  auto freed = Steady::now();
  int retaken = retake(refused, "once space returns");
  double recoveryMs = std::chrono::duration<double, std::milli>(Steady::now() - freed).count();

  // 4. A write error other than a full disk: the WAL file made immutable (chattr +i), so every
  // write to it fails (EPERM, even for root), then writable again.
  const std::string wal = options.dbPath + "-wal";
  std::vector<Outgoing> refusedOnError;
  std::string writeError;
  if (shell("chattr +i " + wal) == 0) {
    int wrong = 0;
    for (int i = 0; i < 5; ++i) {
      Outgoing m = freezeRequest("bank.sbi");
      PostOutcome o = send(m);
      if (o.status == 503 && o.code == "store_unavailable")
        refusedOnError.push_back(m);
      else
        ++wrong;
    }
    int storedAnyway = 0;
    for (const Outgoing& m : refusedOnError)
      storedAnyway += stored(client, m.id).status == 404 ? 0 : 1;
    shell("chattr -i " + wal);
    report.check(wrong == 0, "with its WAL unwritable, the hub answers 503 store_unavailable (" +
                                 std::to_string(wrong) + " other answers of 5)");
    report.check(storedAnyway == 0, "nothing refused on a write error was stored");
    int back = retake(refusedOnError, "once the WAL is writable again");
    writeError = std::to_string(refusedOnError.size()) +
                 " of 5 refused with 503 store_unavailable, " + std::to_string(storedAnyway) +
                 " stored anyway, " + std::to_string(back) +
                 " receipted once writable again (no restart)";
  } else {
    writeError = "not tried: chattr +i not supported on this filesystem";
  }
  int after = 0;
  for (int i = 0; i < 20; ++i) after += send(freezeRequest("bank.pnb")).receipted ? 1 : 0;
  report.check(after == 20, "20 of 20 new messages receipted after recovery");

  int notStored = 0;
  for (const auto& [id, digest] : receipted) {
    Stored s = stored(client, id);
    notStored += s.status == 200 && s.digest == digest ? 0 : 1;
  }
  report.check(notStored == 0, "every receipted message is stored with its digest (" +
                                   std::to_string(notStored) + " not)");
  int stopStatus = hub.stop();
  report.check(stopStatus == 0,
               "the hub stops cleanly (status " + std::to_string(stopStatus) + ")");
  std::string integrity = shellOutput("sqlite3 " + options.dbPath + " 'PRAGMA integrity_check'");
  report.check(integrity == "ok", "SQLite integrity_check: " + integrity);
  std::string rows = shellOutput("sqlite3 " + options.dbPath + " 'SELECT count(*) FROM messages'");
  report.check(rows == std::to_string(receipted.size()),
               "messages stored = messages receipted (" + rows + " vs " +
                   std::to_string(receipted.size()) + ")");
  test::CommandResult audit = hub.runCommand({"audit", "verify", "--config", hub.configPath()});
  report.check(audit.exitCode == 0, "dxhub audit verify passes: " + audit.output);

  report.figure("receipted_before_full", before);
  report.figure("receipted_while_full", acceptedWhileFull);
  report.figure("refused_503", static_cast<double>(refused.size()));
  std::string codeList;
  for (const auto& [code, n] : codes)
    codeList += (codeList.empty() ? "" : ", ") + code + " " + std::to_string(n);
  report.figure("refusal_codes", codeList);
  report.figure("other_answers", otherAnswers);
  report.figure("refused_but_stored", refusedButStored);
  report.figure("retaken_after_space_returned", retaken);
  report.figure("recovery_ms", recoveryMs);
  report.figure("write_error_wal_immutable", writeError);
  report.figure("restart_needed", "no");
  report.figure("sqlite_integrity_check", integrity);
  report.figure("audit_verify", audit.output.substr(0, audit.output.find('\n')));
  return report.finish(flags.figures());
}

}  // namespace dx::stress
