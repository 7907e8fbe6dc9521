// herd.log: the daemon's own log, rotated by size through the log sink.
#include "logs/daemon_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "herd/base/log.h"
#include "logs_util.h"

namespace herd::manager {
namespace {

using test::exists;
using test::read_file;
using test::TempDir;

RotatingFile::Options small(std::uint64_t max_size, unsigned max_files) {
  RotatingFile::Options o;
  o.max_size = max_size;
  o.max_files = max_files;
  o.retry_interval_ms = 0;
  return o;
}

// Restores an environment variable on destruction.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = ::getenv(name)) old_ = v;
  }
  ~EnvGuard() {
    if (old_.empty()) {
      ::unsetenv(name_);
    } else {
      ::setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(DaemonLog, LinesGoToTheFileAndRotateBySize) {
  TempDir dir;
  std::string path = dir.file("herd.log");
  {
    DaemonLog log(path, small(200, 3), false);
    ASSERT_TRUE(log.install().has_value());
    for (int i = 0; i < 40; ++i) log_info("daemon line {:03}", i);
    EXPECT_GE(log.file().rotations(), 2u);
  }
  // Every file within its bound, no more files than max_files, whole lines only.
  EXPECT_TRUE(exists(path));
  EXPECT_TRUE(exists(path + ".1"));
  EXPECT_TRUE(exists(path + ".2"));
  EXPECT_FALSE(exists(path + ".3"));
  for (const std::string& p : {path, path + ".1", path + ".2"}) {
    std::string text = read_file(p);
    EXPECT_LE(text.size(), 200u) << p;
    EXPECT_EQ(text.back(), '\n') << p;
  }
  // The newest line is in the current file, the one before it in the rotated ones.
  EXPECT_NE(read_file(path).find("info: daemon line 039"), std::string::npos) << read_file(path);
  EXPECT_EQ(read_file(path + ".1").find("daemon line 039"), std::string::npos);
}

TEST(DaemonLog, UninstallRestoresStderrAndTheDestructorUninstalls) {
  TempDir dir;
  std::string path = dir.file("herd.log");
  {
    DaemonLog log(path, small(1 << 20, 2), false);
    ASSERT_TRUE(log.install().has_value());
    log_info("inside");
  }
  log_info("after the log is gone");  // to stderr; must not touch the destroyed object
  std::string text = read_file(path);
  EXPECT_NE(text.find("inside"), std::string::npos);
  EXPECT_EQ(text.find("after the log is gone"), std::string::npos);
}

TEST(DaemonLog, StdoutAndStderrFollowTheCurrentFile) {
  TempDir dir;
  std::string path = dir.file("herd.log");
  std::fflush(stdout);
  std::fflush(stderr);
  int saved_out = ::dup(STDOUT_FILENO);
  int saved_err = ::dup(STDERR_FILENO);
  ASSERT_GE(saved_out, 0);
  ASSERT_GE(saved_err, 0);
  {
    DaemonLog log(path, small(100, 2), true);
    ASSERT_TRUE(log.install().has_value());
    for (int i = 0; i < 10; ++i) log_info("line {}", i);
    ASSERT_GE(log.file().rotations(), 1u);
    // What bypasses the log functions lands in the current file, not in a rotated one.
    const char raw[] = "raw stderr write\n";
    ASSERT_EQ(::write(STDERR_FILENO, raw, sizeof(raw) - 1), static_cast<ssize_t>(sizeof(raw) - 1));
  }
  ::dup2(saved_out, STDOUT_FILENO);
  ::dup2(saved_err, STDERR_FILENO);
  ::close(saved_out);
  ::close(saved_err);
  EXPECT_NE(read_file(path).find("raw stderr write"), std::string::npos) << read_file(path);
  EXPECT_EQ(read_file(path + ".1").find("raw stderr write"), std::string::npos);
}

TEST(DaemonLog, OptionsFromTheEnvironment) {
  EnvGuard size_guard("HERD_LOG_MAX_SIZE");
  EnvGuard files_guard("HERD_LOG_MAX_FILES");
  ::unsetenv("HERD_LOG_MAX_SIZE");
  ::unsetenv("HERD_LOG_MAX_FILES");
  auto defaults = DaemonLog::options_from_env();
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->max_size, 10u * 1024 * 1024);
  EXPECT_EQ(defaults->max_files, 5u);

  ::setenv("HERD_LOG_MAX_SIZE", "64K", 1);
  ::setenv("HERD_LOG_MAX_FILES", "3", 1);
  auto set = DaemonLog::options_from_env();
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->max_size, 64u * 1024);
  EXPECT_EQ(set->max_files, 3u);

  ::setenv("HERD_LOG_MAX_SIZE", "lots", 1);
  auto bad_size = DaemonLog::options_from_env();
  ASSERT_FALSE(bad_size.has_value());
  EXPECT_EQ(bad_size.error().context(),
            "HERD_LOG_MAX_SIZE=lots is not a size (like 10M, 512K or 1048576)");

  ::setenv("HERD_LOG_MAX_SIZE", "1M", 1);
  for (const char* v : {"0", "-1", "2x"}) {
    ::setenv("HERD_LOG_MAX_FILES", v, 1);
    auto bad = DaemonLog::options_from_env();
    ASSERT_FALSE(bad.has_value()) << v;
    EXPECT_EQ(bad.error().context(),
              std::string("HERD_LOG_MAX_FILES=") + v + " is not a whole number >= 1");
  }
}

}  // namespace
}  // namespace herd::manager
