#include "daemon/file_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "herd/loop/event_loop.h"
#include "support/wait.h"

namespace herd::manager {
namespace {

namespace fs = std::filesystem;

void touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
}

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/herd-file-watch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    watch_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start(std::vector<std::string> patterns, std::vector<std::string> roots = {}) {
    auto filter = WatchFilter::create(patterns, dir_);
    ASSERT_TRUE(filter.has_value());
    watch_ = std::make_unique<FileWatch>(loop_, std::move(*filter),
                                         [this](const std::string& w) { seen_.push_back(w); });
    if (roots.empty()) roots = {dir_};
    auto s = watch_->start(roots);
    ASSERT_TRUE(s.has_value()) << s.error().message();
  }

  bool saw(const std::string& path) const {
    return std::find(seen_.begin(), seen_.end(), path) != seen_.end();
  }
  // Waits until `path` was reported.
  bool wait_for(const std::string& path) {
    return test::run_until(loop_, [&] { return saw(path); });
  }

  EventLoop loop_;
  std::string dir_;
  std::unique_ptr<FileWatch> watch_;
  std::vector<std::string> seen_;
};

TEST_F(FileWatchTest, ReportsChangesInTheTreeButNotIgnoredOnes) {
  fs::create_directories(dir_ + "/src/lib");
  fs::create_directories(dir_ + "/node_modules/pkg");
  start({});
  EXPECT_EQ(watch_->directories(), 3u);  // the root, src, src/lib; not node_modules

  touch(dir_ + "/node_modules/pkg/index.js");
  touch(dir_ + "/.hidden");
  touch(dir_ + "/src/lib/a.js");
  ASSERT_TRUE(wait_for(dir_ + "/src/lib/a.js"));
  // Events come in order through one queue: the ignored ones were read before, and dropped.
  for (const auto& s : seen_) {
    EXPECT_EQ(s.find("node_modules"), std::string::npos) << s;
    EXPECT_EQ(s.find(".hidden"), std::string::npos) << s;
  }
}

TEST_F(FileWatchTest, FollowsNewAndRemovedDirectories) {
  start({});
  fs::create_directories(dir_ + "/new");
  ASSERT_TRUE(wait_for(dir_ + "/new"));
  EXPECT_EQ(watch_->directories(), 2u);
  touch(dir_ + "/new/file.txt");
  ASSERT_TRUE(wait_for(dir_ + "/new/file.txt"));

  // A directory moved in from outside is watched with what is below it.
  std::string outside = dir_ + "-outside";
  fs::create_directories(outside + "/deep");
  fs::rename(outside, dir_ + "/moved");
  ASSERT_TRUE(wait_for(dir_ + "/moved"));
  EXPECT_EQ(watch_->directories(), 4u);
  touch(dir_ + "/moved/deep/x");
  ASSERT_TRUE(wait_for(dir_ + "/moved/deep/x"));

  fs::remove_all(dir_ + "/moved");
  fs::remove_all(dir_ + "/new");
  touch(dir_ + "/marker");
  ASSERT_TRUE(wait_for(dir_ + "/marker"));
  EXPECT_TRUE(saw(dir_ + "/moved"));
  EXPECT_EQ(watch_->directories(), 1u);
}

TEST_F(FileWatchTest, AFileRootSeesAReplacingSave) {
  touch(dir_ + "/config.json");
  touch(dir_ + "/other.json");
  start({}, {dir_ + "/config.json"});
  // An editor's save: write a temporary file, rename it over the original.
  touch(dir_ + "/other.json");
  touch(dir_ + "/config.json.tmp");
  fs::rename(dir_ + "/config.json.tmp", dir_ + "/config.json");
  ASSERT_TRUE(wait_for(dir_ + "/config.json"));
  EXPECT_FALSE(saw(dir_ + "/other.json"));
  EXPECT_FALSE(saw(dir_ + "/config.json.tmp"));
}

// More events than the kernel queues (fs.inotify.max_queued_events) while the loop is busy:
// one change says so, and the tree is scanned again, which finds a directory whose creation
// event was lost.
TEST_F(FileWatchTest, QueueOverflowIsReportedAndTheTreeRescanned) {
  start({});
  long limit = 16384;
  if (FILE* f = std::fopen("/proc/sys/fs/inotify/max_queued_events", "r")) {
    if (std::fscanf(f, "%ld", &limit) != 1) limit = 16384;
    std::fclose(f);
  }
  // Alternating names, so the kernel cannot merge consecutive identical events.
  for (long k = 0; k < limit; ++k) {
    touch(dir_ + (k % 2 == 0 ? "/a" : "/b"));
  }
  fs::create_directories(dir_ + "/late");
  const std::string overflow = "inotify queue overflow (some changes were lost)";
  ASSERT_TRUE(test::run_until(
      loop_, [&] { return saw(overflow); }, std::chrono::seconds(30)));
  EXPECT_EQ(watch_->directories(), 2u);
  touch(dir_ + "/late/x");
  ASSERT_TRUE(wait_for(dir_ + "/late/x"));
}

TEST_F(FileWatchTest, MissingRootsFailByName) {
  auto filter = WatchFilter::create({}, dir_);
  ASSERT_TRUE(filter.has_value());
  FileWatch w(loop_, std::move(*filter), [](const std::string&) {});
  auto s = w.start({dir_ + "/nope"});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ENOENT);
  EXPECT_NE(s.error().context().find(dir_ + "/nope"), std::string::npos);
}

TEST_F(FileWatchTest, RemovedRootIsReported) {
  std::string root = dir_ + "/root";
  fs::create_directories(root);
  start({}, {root});
  fs::remove_all(root);
  ASSERT_TRUE(wait_for(root));
  ASSERT_TRUE(test::run_until(loop_, [&] { return watch_->directories() == 0; }));
}

}  // namespace
}  // namespace herd::manager
