#include "herd/base/log.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

TEST(Log, ParseLevel) {
  LogLevel l;
  EXPECT_TRUE(parse_log_level("debug", &l));
  EXPECT_EQ(l, LogLevel::kDebug);
  EXPECT_TRUE(parse_log_level("warn", &l));
  EXPECT_EQ(l, LogLevel::kWarn);
  EXPECT_TRUE(parse_log_level("off", &l));
  EXPECT_EQ(l, LogLevel::kOff);
  EXPECT_FALSE(parse_log_level("loud", &l));
  EXPECT_FALSE(parse_log_level("", &l));
}

TEST(Log, LinesBelowThresholdAreDropped) {
  LogLevel saved = log_level();
  set_log_level(LogLevel::kWarn);
  ::testing::internal::CaptureStderr();
  log_info("hidden {}", 1);
  log_warn("shown {}", 2);
  log_error("also shown {}", "x");
  std::string err = ::testing::internal::GetCapturedStderr();
  set_log_level(saved);
  EXPECT_EQ(err.find("hidden"), std::string::npos);
  EXPECT_NE(err.find("warn: shown 2\n"), std::string::npos) << err;
  EXPECT_NE(err.find("error: also shown x\n"), std::string::npos) << err;
}

TEST(LogDeathTest, FatalAbortsWithMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(fatal("invariant broken: x"), "fatal: invariant broken: x");
}

}  // namespace
}  // namespace herd
