// The home's identity and its watch (daemon/home_watch.h): what counts as the home gone, and that
// the watch says so, once; and who holds the home's lock (daemon/home_lock.h).
#include "daemon/home_watch.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "daemon/home_lock.h"
#include "herd/loop/event_loop.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace herd::manager {
namespace {

using ::testing::HasSubstr;

class HomeWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_.dir = tmp_ / "home";
    ASSERT_TRUE(home_.prepare());
    lock_ = ::open(home_.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(lock_, 0);
  }
  void TearDown() override { ::close(lock_); }

  HomeIdentity identity() {
    auto id = HomeIdentity::of(home_);
    EXPECT_TRUE(id);
    return id.value_or(HomeIdentity{});
  }

  test::TempDir tmp_{"home-watch"};
  Home home_;
  int lock_ = -1;
};

TEST_F(HomeWatchTest, TheSameHomeHasNoChange) {
  HomeIdentity id = identity();
  EXPECT_EQ(id.change(home_), "");
  // What the daemon does in it every day changes nothing.
  ASSERT_EQ(::rename(home_.lock_file().c_str(), (home_.dir + "/x").c_str()), 0);
  ASSERT_EQ(::rename((home_.dir + "/x").c_str(), home_.lock_file().c_str()), 0);
  std::filesystem::remove_all(home_.logs_dir());
  EXPECT_EQ(id.change(home_), "");
}

TEST_F(HomeWatchTest, RemovedMovedOrReplacedHomesAndLockFilesAreChanges) {
  HomeIdentity id = identity();
  ASSERT_EQ(::unlink(home_.lock_file().c_str()), 0);
  EXPECT_THAT(id.change(home_), HasSubstr(home_.lock_file() + " was removed"));
  int again = ::open(home_.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(again, 0);
  ::close(again);
  EXPECT_THAT(id.change(home_), HasSubstr(home_.lock_file() + " was replaced"));

  id = identity();
  ASSERT_EQ(::rename(home_.dir.c_str(), (tmp_ / "moved").c_str()), 0);
  EXPECT_EQ(id.change(home_), home_.dir + " was removed");
  ASSERT_EQ(::mkdir(home_.dir.c_str(), 0700), 0);
  EXPECT_EQ(id.change(home_), home_.dir + " was moved away or replaced by another directory");
}

TEST_F(HomeWatchTest, TheWatchSaysOnceWhenTheHomeIsRemoved) {
  EventLoop loop;
  HomeWatch watch(loop, home_);
  std::vector<std::string> said;
  ASSERT_TRUE(watch.start([&](const std::string& why) { said.push_back(why); }));
  // Nothing keeps the loop running for the watch alone.
  EXPECT_FALSE(loop.run(RunMode::kNoWait));
  EXPECT_TRUE(said.empty());

  std::filesystem::remove_all(home_.dir);
  ASSERT_TRUE(test::run_until(loop, [&] { return !said.empty(); }));
  EXPECT_THAT(said[0], HasSubstr(" was removed"));
  test::run_until(
      loop, [] { return false; }, std::chrono::milliseconds(50));
  EXPECT_EQ(said.size(), 1u);
}

TEST_F(HomeWatchTest, StoppedItSaysNothing) {
  EventLoop loop;
  HomeWatch watch(loop, home_);
  bool said = false;
  ASSERT_TRUE(watch.start([&](const std::string&) { said = true; }));
  watch.stop();
  std::filesystem::remove_all(home_.dir);
  test::run_until(
      loop, [] { return false; }, std::chrono::milliseconds(100));
  EXPECT_FALSE(said);
}

TEST_F(HomeWatchTest, TheLockHoldersPidAndCommandLine) {
  EXPECT_FALSE(lock_holder(home_)) << "nobody holds it";
  ASSERT_EQ(::flock(lock_, LOCK_EX | LOCK_NB), 0);
  auto holder = lock_holder(home_);
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->pid, ::getpid());
  EXPECT_THAT(holder->command, HasSubstr("daemon_test"));
  EXPECT_EQ(holder->kind, LockHolder::Kind::kOther);
  EXPECT_THAT(holder->describe(), HasSubstr("pid " + std::to_string(::getpid()) + " ("));
  ASSERT_EQ(::flock(lock_, LOCK_UN), 0);
  EXPECT_FALSE(lock_holder(home_));
  ::unlink(home_.lock_file().c_str());
  EXPECT_FALSE(lock_holder(home_)) << "no lock file";
}

}  // namespace
}  // namespace herd::manager
