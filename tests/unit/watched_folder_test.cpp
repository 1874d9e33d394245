#include "dx/watched_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dx {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class WatchedFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dx-watched-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `name` with `content`, last modified `age` ago.
  void drop(const std::string& name, const std::string& content = "x",
            std::chrono::seconds age = 10s) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    setAge(path, age);
  }
  static void setAge(const std::string& path, std::chrono::seconds age) {
    struct timespec times[2];
    ::clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= age.count();
    times[1] = times[0];
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }
  std::vector<std::string> list(const std::string& sub) const {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(dir_ + "/" + sub)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
};

TEST_F(WatchedFolderTest, MakesItsFoldersAndIsEmptyAtFirst) {
  WatchedFolder folder(dir_ + "/inbox");
  EXPECT_TRUE(fs::is_directory(dir_ + "/inbox/processing"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/inbox/done"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/inbox/rejected"));
  EXPECT_FALSE(folder.claimNext());
}

TEST_F(WatchedFolderTest, TwoWatchersRacingOverTwoHundredFilesClaimEachExactlyOnce) {
  WatchedFolder setup(dir_, 0ms);
  for (int i = 0; i < 200; ++i)
    drop(std::string("f").append(std::to_string(i)).append(".csv"), std::to_string(i));
  std::vector<std::string> claimed[2];
  auto watch = [&](int which) {
    WatchedFolder folder(dir_, 0ms);
    while (auto file = folder.claimNext()) {
      claimed[which].push_back(file->name);
      folder.done(*file);
    }
  };
  std::thread a(watch, 0), b(watch, 1);
  a.join();
  b.join();
  std::multiset<std::string> all(claimed[0].begin(), claimed[0].end());
  all.insert(claimed[1].begin(), claimed[1].end());
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 200u) << "a file claimed twice";
  std::vector<std::string> done = list("done");
  EXPECT_EQ(done.size(), 200u);
  EXPECT_EQ(std::count_if(done.begin(), done.end(),
                          [](const std::string& n) { return n.find(".csv") != n.size() - 4; }),
            0)
      << "a suffixed name in done/ means a file was moved twice";
  EXPECT_TRUE(list("processing").empty());
}

TEST_F(WatchedFolderTest, TwoProcessesRacingClaimEachFileExactlyOnce) {
  WatchedFolder setup(dir_, 0ms);
  for (int i = 0; i < 200; ++i)
    drop(std::string("p").append(std::to_string(i)).append(".csv"), std::to_string(i));
  auto watch = [&](const std::string& log) {
    WatchedFolder folder(dir_, 0ms);
    std::ofstream out(log);
    while (auto file = folder.claimNext()) {
      out << file->name << "\n";
      folder.done(*file);
    }
  };
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      watch(dir_ + "/.child.log");
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  watch(dir_ + "/.parent.log");
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::multiset<std::string> all;
  for (const char* log : {"/.child.log", "/.parent.log"}) {
    std::istringstream lines(read(dir_ + log));
    for (std::string name; std::getline(lines, name);) all.insert(name);
  }
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 200u) << "a file claimed twice";
  EXPECT_EQ(list("done").size(), 200u);
}

TEST_F(WatchedFolderTest, IgnoresDotFilesFoldersLinksAndFifos) {
  WatchedFolder folder(dir_, 0ms);
  drop(".partial.csv");
  fs::create_directory(dir_ + "/sub");
  drop("target.txt");
  fs::create_symlink(dir_ + "/target.txt", dir_ + "/link.csv");
  ASSERT_EQ(::mkfifo((dir_ + "/pipe.csv").c_str(), 0600), 0);
  auto file = folder.claimNext();
  ASSERT_TRUE(file);
  EXPECT_EQ(file->name, "target.txt");
  folder.done(*file);
  EXPECT_FALSE(folder.claimNext());
  EXPECT_TRUE(fs::exists(dir_ + "/.partial.csv"));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/link.csv"));
}

TEST_F(WatchedFolderTest, LeavesAFileThatHasNotSettled) {
  WatchedFolder folder(dir_, 60s);
  drop("fresh.csv", "x", 0s);
  EXPECT_FALSE(folder.claimNext());
  setAge(dir_ + "/fresh.csv", 61s);
  auto file = folder.claimNext();
  ASSERT_TRUE(file);
  EXPECT_EQ(file->name, "fresh.csv");
  EXPECT_EQ(file->path, dir_ + "/processing/fresh.csv");
  EXPECT_TRUE(fs::exists(file->path));
}

TEST_F(WatchedFolderTest, ClaimsOldestFirstThenByName) {
  WatchedFolder folder(dir_, 0ms);
  drop("c.csv", "x", 30s);
  drop("b.csv", "x", 20s);
  drop("a.csv", "x", 10s);
  drop("a0.csv", "x", 20s);  // same age as b.csv: by name
  // Same second is not enough for "same age": give a0 and b the exact same time.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/b.csv").c_str(), &st), 0);
  struct timespec times[2] = {st.st_mtim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ + "/a0.csv").c_str(), times, 0), 0);
  std::vector<std::string> order;
  while (auto file = folder.claimNext()) {
    order.push_back(file->name);
    folder.done(*file);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"c.csv", "a0.csv", "b.csv", "a.csv"}));
}

TEST_F(WatchedFolderTest, ReclaimsFilesADeadWatcherLeftInProcessingFirst) {
  WatchedFolder first(dir_, 0ms);
  drop("older.csv", "x", 60s);
  // What a watcher that died mid-file leaves: the file in processing/, nobody holding it.
  std::ofstream(dir_ + "/processing/left.csv") << "x";
  auto file = first.claimNext();
  ASSERT_TRUE(file);
  EXPECT_EQ(file->name, "left.csv");
  EXPECT_EQ(file->path, dir_ + "/processing/left.csv");
  // A live watcher's claim is not taken over by another watcher.
  WatchedFolder second(dir_, 0ms);
  auto other = second.claimNext();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->name, "older.csv");
  EXPECT_FALSE(second.claimNext());
  first.done(*file);
  second.done(*other);
  EXPECT_EQ(list("done"), (std::vector<std::string>{"left.csv", "older.csv"}));
}

TEST_F(WatchedFolderTest, DoneKeepsEarlierFilesOfTheSameName) {
  WatchedFolder folder(dir_, 0ms);
  for (const char* content : {"one", "two", "three"}) {
    drop("export.csv", content);
    auto file = folder.claimNext();
    ASSERT_TRUE(file);
    folder.done(*file);
  }
  EXPECT_EQ(list("done"), (std::vector<std::string>{"export.1.csv", "export.2.csv", "export.csv"}));
  EXPECT_EQ(read(dir_ + "/done/export.csv"), "one");
  EXPECT_EQ(read(dir_ + "/done/export.2.csv"), "three");
}

TEST_F(WatchedFolderTest, RejectWritesTheErrorsReportAndMovesTheFile) {
  WatchedFolder folder(dir_, 0ms);
  drop("all-bad.csv", "bad");
  auto file = folder.claimNext();
  ASSERT_TRUE(file);
  folder.reject(*file, "line,case_no,reason\n1,,missing column amount_lost\n", true);
  EXPECT_EQ(list("rejected"), (std::vector<std::string>{"all-bad.csv", "all-bad.csv.errors.csv"}));
  EXPECT_EQ(read(dir_ + "/rejected/all-bad.csv.errors.csv"),
            "line,case_no,reason\n1,,missing column amount_lost\n");

  drop("some-bad.csv", "some");
  file = folder.claimNext();
  ASSERT_TRUE(file);
  folder.reject(*file, "line,case_no,reason\n3,12/2026,bad date\n", false);
  EXPECT_EQ(list("done"), (std::vector<std::string>{"some-bad.csv"}));
  EXPECT_TRUE(fs::exists(dir_ + "/rejected/some-bad.csv.errors.csv"));

  // Again under the same name: its own report, matching the suffix the file got.
  drop("some-bad.csv", "again");
  file = folder.claimNext();
  ASSERT_TRUE(file);
  folder.reject(*file, "line,case_no,reason\n2,13/2026,bad date\n", false);
  EXPECT_EQ(list("done"), (std::vector<std::string>{"some-bad.1.csv", "some-bad.csv"}));
  EXPECT_EQ(read(dir_ + "/rejected/some-bad.1.csv.errors.csv"),
            "line,case_no,reason\n2,13/2026,bad date\n");
  EXPECT_TRUE(list("processing").empty());
}

}  // namespace
}  // namespace dx
