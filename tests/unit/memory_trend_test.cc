// MemoryTrend (src/metrics/memory_trend.h): the least-squares slope on synthetic series, and
// the `leak?` mark: steady growth marked, a flat process and a sawtooth not, nothing during the
// warm-up or before the window is covered.
#include "metrics/memory_trend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

namespace herd::manager {
namespace {

constexpr std::uint64_t kStart = 5'000'000;  // an arbitrary monotonic time, in ms

// Feeds one sample a second from the run's start for `seconds`, memory given by `bytes(s)`.
MemoryTrendReport run(const MemoryTrendConfig& c, int seconds,
                      const std::function<double(int)>& bytes) {
  MemoryTrend trend;
  trend.restart(kStart);
  for (int s = 1; s <= seconds; ++s) {
    trend.add(kStart + static_cast<std::uint64_t>(s) * 1000, static_cast<std::uint64_t>(bytes(s)),
              c);
  }
  return trend.report(c);
}

MemoryTrendConfig window_s(std::uint64_t seconds, double threshold = 10 * 1024) {
  return {.window_ms = seconds * 1000, .threshold_bytes_per_s = threshold};
}

TEST(FitLine, ExactSlopeOfALine) {
  std::vector<TrendPoint> points;
  for (int i = 0; i < 50; ++i) points.push_back({1e6 + i * 0.5, 3e9 + 1048576.0 * i * 0.5});
  auto fit = fit_line(points);
  ASSERT_TRUE(fit);
  EXPECT_NEAR(fit->slope, 1048576.0, 1e-3);
  EXPECT_NEAR(fit->r2, 1.0, 1e-9);
}

TEST(FitLine, FlatAndDegenerate) {
  auto flat = fit_line({{0, 7}, {1, 7}, {2, 7}});
  ASSERT_TRUE(flat);
  EXPECT_EQ(flat->slope, 0);
  EXPECT_EQ(flat->r2, 1.0);
  EXPECT_FALSE(fit_line({{0, 1}}));
  EXPECT_FALSE(fit_line({{3, 1}, {3, 2}}));
}

TEST(FitLine, NoiseLowersR2) {
  // y alternates around a line: the slope is still the line's, R² is low.
  std::vector<TrendPoint> points;
  for (int i = 0; i < 40; ++i) points.push_back({double(i), 100.0 * i + (i % 2 ? 5000 : -5000)});
  auto fit = fit_line(points);
  ASSERT_TRUE(fit);
  EXPECT_NEAR(fit->slope, 100.0, 30);
  EXPECT_LT(fit->r2, 0.5);
}

TEST(MemoryTrend, SteadyGrowthIsMarkedWithItsRate) {
  // 1 MiB/s over a 60 s window, after the 15 s warm-up: marked, slope exact.
  auto r = run(window_s(60), 100, [](int s) { return 50e6 + 1048576.0 * s; });
  ASSERT_TRUE(r.fit);
  EXPECT_NEAR(r.fit->slope, 1048576.0, 1.0);
  EXPECT_TRUE(r.leak);
  EXPECT_FALSE(r.warming_up);
  EXPECT_GE(r.covered_ms, 59'000u);
  EXPECT_LE(r.covered_ms, 60'000u);
}

TEST(MemoryTrend, StaircaseGrowthIsMarked) {
  // RSS grows in steps (pages touched in bursts every 3 s): still steady growth.
  auto r = run(window_s(30), 80, [](int s) { return 1e8 + 3e6 * (s / 3); });
  ASSERT_TRUE(r.fit);
  EXPECT_NEAR(r.fit->slope, 1e6, 1e5);
  EXPECT_TRUE(r.leak);
}

TEST(MemoryTrend, FlatIsNotMarked) {
  auto r = run(window_s(60), 200, [](int s) { return 80e6 + (s % 3) * 4096.0; });
  ASSERT_TRUE(r.fit);
  EXPECT_LT(std::fabs(r.fit->slope), 10 * 1024);
  EXPECT_FALSE(r.leak);
}

TEST(MemoryTrend, SawtoothIsNotMarked) {
  // Grows 1 MB/s for 10 s, frees it all, again: a cache or a GC heap, not a leak.
  for (int window : {20, 30, 60, 600}) {
    auto r = run(window_s(window), window * 3, [](int s) { return 60e6 + 1e6 * (s % 10); });
    EXPECT_FALSE(r.leak) << "window " << window;
  }
}

TEST(MemoryTrend, GrowthThenPlateauIsNotMarked) {
  // Grows for the first half of the window, then stays: the last quarters are flat.
  auto r = run(window_s(40), 50, [](int s) { return 1e8 + 1e6 * std::min(s, 28); });
  ASSERT_TRUE(r.fit);
  EXPECT_GT(r.fit->slope, 10 * 1024);
  EXPECT_FALSE(r.leak);
}

TEST(MemoryTrend, SlowGrowthUnderTheThresholdIsNotMarked) {
  auto r = run(window_s(60, 100 * 1024), 100, [](int s) { return 1e8 + 50 * 1024.0 * s; });
  ASSERT_TRUE(r.fit);
  EXPECT_NEAR(r.fit->slope, 50 * 1024.0, 1.0);
  EXPECT_FALSE(r.leak);
}

TEST(MemoryTrend, WarmUpAndCoverage) {
  auto c = window_s(40);  // warm-up 10 s
  EXPECT_EQ(MemoryTrend::warmup_ms(40'000), 10'000u);
  EXPECT_EQ(MemoryTrend::warmup_ms(3'600'000), MemoryTrend::kMaxWarmupMs);
  auto grow = [](int s) { return 1e8 + 1e6 * s; };
  // In the warm-up: nothing kept.
  auto r = run(c, 9, grow);
  EXPECT_TRUE(r.warming_up);
  EXPECT_EQ(r.samples, 0u);
  EXPECT_FALSE(r.fit);
  // After it, less than a quarter of the window: no slope yet.
  r = run(c, 18, grow);
  EXPECT_FALSE(r.warming_up);
  EXPECT_FALSE(r.fit);
  // Half the window: a slope, but no mark until the whole window is covered.
  r = run(c, 30, grow);
  ASSERT_TRUE(r.fit);
  EXPECT_NEAR(r.fit->slope, 1e6, 1);
  EXPECT_FALSE(r.leak);
  r = run(c, 50, grow);
  EXPECT_TRUE(r.leak);
}

TEST(MemoryTrend, ARestartForgetsTheRun) {
  auto c = window_s(20);
  MemoryTrend trend;
  trend.restart(kStart);
  for (int s = 1; s <= 40; ++s) trend.add(kStart + s * 1000, 1e8 + 1e6 * s, c);
  EXPECT_TRUE(trend.report(c).leak);
  trend.restart(kStart + 41'000);
  trend.add(kStart + 42'000, 1e8, c);
  auto r = trend.report(c);
  EXPECT_FALSE(r.leak);
  EXPECT_EQ(r.samples, 0u);
  EXPECT_TRUE(r.warming_up);
}

TEST(MemoryTrend, ALongWindowKeepsABoundedNumberOfSamples) {
  // A 24 h window fed every second for 25 h: at most kMaxSamples (+1) kept, slope still exact.
  auto r = run(window_s(24 * 3600), 25 * 3600, [](int s) { return 1e8 + 2048.0 * s; });
  EXPECT_LE(r.samples, MemoryTrend::kMaxSamples + 1);
  EXPECT_GE(r.samples, MemoryTrend::kMaxSamples - 1);
  ASSERT_TRUE(r.fit);
  EXPECT_NEAR(r.fit->slope, 2048.0, 0.01);
  EXPECT_FALSE(r.leak);  // under the 10 KiB/s threshold
}

TEST(MemoryTrend, SecondsToLimit) {
  EXPECT_FALSE(seconds_to_limit(100, 10, 0));
  EXPECT_FALSE(seconds_to_limit(100, 0, 1000));
  EXPECT_FALSE(seconds_to_limit(100, -5, 1000));
  EXPECT_FALSE(seconds_to_limit(2000, 10, 1000));
  auto s = seconds_to_limit(100, 10, 1000);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(*s, 90.0);
}

}  // namespace
}  // namespace herd::manager
