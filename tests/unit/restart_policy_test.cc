#include "daemon/restart_policy.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace herd::manager {
namespace {

using Kind = RestartDecision::Kind;

TEST(RestartPolicy, StopRequestedNeverRestarts) {
  AppSpec spec;
  RestartState st;
  auto d = decide_restart(spec, st, 50, 0, 0, true);
  EXPECT_EQ(d.kind, Kind::kStop);
  EXPECT_NE(d.reason.find("stopped by herd"), std::string::npos);
}

TEST(RestartPolicy, AutorestartOffAndStopExitCodes) {
  AppSpec spec;
  spec.autorestart = false;
  RestartState st;
  EXPECT_EQ(decide_restart(spec, st, 5000, 1, 0, false).kind, Kind::kStop);
  spec.autorestart = true;
  spec.stop_exit_codes = {0, 3};
  EXPECT_EQ(decide_restart(spec, st, 5000, 3, 0, false).kind, Kind::kStop);
  EXPECT_EQ(decide_restart(spec, st, 5000, 4, 0, false).kind, Kind::kRestart);
  // A signal death has no exit code: stop_exit_codes do not apply.
  EXPECT_EQ(decide_restart(spec, st, 5000, -1, SIGKILL, false).kind, Kind::kRestart);
}

TEST(RestartPolicy, StableRunRestartsAtOnceAndResetsUnstableCount) {
  AppSpec spec;
  RestartState st;
  st.unstable_restarts = 5;
  auto d = decide_restart(spec, st, 2000, 1, 0, false);
  EXPECT_EQ(d.kind, Kind::kRestart);
  EXPECT_EQ(d.delay_ms, 0u);
  EXPECT_EQ(st.unstable_restarts, 0);
}

TEST(RestartPolicy, UnstableRunsEndErroredAfterMaxRestarts) {
  AppSpec spec;
  spec.max_restarts = 3;
  RestartState st;
  for (int i = 1; i <= 3; ++i) {
    auto d = decide_restart(spec, st, 10, 1, 0, false);
    ASSERT_EQ(d.kind, Kind::kRestart) << i;
    EXPECT_GE(d.delay_ms, kUnstableFloorMs);  // a crash loop never spins
  }
  auto d = decide_restart(spec, st, 10, 1, 0, false);
  EXPECT_EQ(d.kind, Kind::kErrored);
  EXPECT_NE(d.reason.find("max_restarts 3"), std::string::npos) << d.reason;
}

TEST(RestartPolicy, CrashLoopFloorGrowsPastSixteenAndCaps) {
  AppSpec spec;
  spec.max_restarts = 1000;
  RestartState st;
  std::uint64_t last = 0;
  for (int i = 1; i <= 100; ++i) {
    auto d = decide_restart(spec, st, 10, 1, 0, false);
    ASSERT_EQ(d.kind, Kind::kRestart);
    if (i <= kFastUnstableRestarts) {
      EXPECT_EQ(d.delay_ms, kUnstableFloorMs) << i;
    }
    EXPECT_GE(d.delay_ms, last);
    EXPECT_LE(d.delay_ms, kMaxBackoffMs);
    last = d.delay_ms;
  }
  EXPECT_EQ(last, kMaxBackoffMs);
}

TEST(RestartPolicy, ExponentialBackoffGrowsCapsAndResets) {
  AppSpec spec;
  spec.exp_backoff_restart_delay_ms = 100;
  spec.max_restarts = 1000;
  RestartState st;
  std::uint64_t expected[] = {100, 150, 225, 337, 505};
  for (std::uint64_t e : expected) {
    auto d = decide_restart(spec, st, 5000, 1, 0, false);  // stable runs: backoff alone
    EXPECT_EQ(d.delay_ms, e);
  }
  for (int i = 0; i < 50; ++i) decide_restart(spec, st, 5000, 1, 0, false);
  EXPECT_EQ(decide_restart(spec, st, 5000, 1, 0, false).delay_ms, kMaxBackoffMs);
  // 30 s of uptime resets the backoff.
  EXPECT_EQ(decide_restart(spec, st, kBackoffResetUptimeMs, 1, 0, false).delay_ms, 100u);
}

TEST(RestartPolicy, RestartDelayIsHonoured) {
  AppSpec spec;
  spec.restart_delay_ms = 2500;
  RestartState st;
  EXPECT_EQ(decide_restart(spec, st, 5000, 0, 0, false).delay_ms, 2500u);
}

TEST(RestartPolicy, ReasonNamesTheSignal) {
  AppSpec spec;
  RestartState st;
  auto d = decide_restart(spec, st, 5000, -1, SIGSEGV, false);
  EXPECT_NE(d.reason.find("SIGSEGV"), std::string::npos) << d.reason;
}

}  // namespace
}  // namespace herd::manager
