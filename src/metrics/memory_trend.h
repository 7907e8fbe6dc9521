// MemoryTrend: how fast one instance's memory grows, and whether it grows like a leak.
//
// Fed the daemon's once-a-second memory samples of one process run (add()), it keeps the
// samples of the last `window` (after a warm-up at the start of each run) and fits a line to
// them by least squares: the slope is the growth rate in bytes per second, R² how well a
// straight line explains the samples.
//
// "Leaking" (the `leak?` mark) is a steady growth over the whole window:
//   - the samples cover the window (at least 90 % of it, and at least kMinLeakSamples samples);
//   - the slope is at least the threshold (bytes per second);
//   - R² is at least kMinLeakR2: the memory follows the line, it does not grow then free;
//   - the slope of each quarter of the window is above 0: it grew all the time, not in one jump
//     followed by a flat stretch.
// A sawtooth (grows, then frees) fails the R² and quarter tests; a steady process fails the
// slope test. The warm-up (the first min(60 s, window / 4) of each run) keeps a process's
// start-up allocations out of the fit.
//
// A pure value type: no clock, no I/O. Not thread-safe (the daemon's loop thread owns it).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace herd::manager {

// A least-squares line through points (t in seconds, y). nullopt with fewer than two points or
// when every t is the same. r2 is 1 when every y is the same (a flat line explains them).
struct LineFit {
  double slope = 0;  // y per second
  double r2 = 0;     // coefficient of determination, 0..1
};
struct TrendPoint {
  double t = 0;
  double y = 0;
};
std::optional<LineFit> fit_line(const std::vector<TrendPoint>& points);

struct MemoryTrendConfig {
  std::uint64_t window_ms = 10 * 60 * 1000;
  double threshold_bytes_per_s = 10 * 1024;
};

// What the trend says at the last sample.
struct MemoryTrendReport {
  // The fit over the samples kept; nullopt while they cover less than a quarter of the window
  // (or fewer than 3 samples), before which a slope means little.
  std::optional<LineFit> fit;
  std::uint64_t covered_ms = 0;  // the time between the oldest and the newest sample kept
  std::size_t samples = 0;
  bool warming_up = false;  // the run is younger than the warm-up
  bool leak = false;        // the `leak?` mark (see above)
};

class MemoryTrend {
 public:
  static constexpr double kMinLeakR2 = 0.9;
  static constexpr std::size_t kMinLeakSamples = 8;
  static constexpr std::uint64_t kMaxWarmupMs = 60 * 1000;
  // At most this many samples are kept: a long window keeps one every window / kMaxSamples
  // (a 24 h window, one every 2 min), so memory and the fit's cost stay bounded.
  static constexpr std::uint64_t kMaxSamples = 720;

  // A new process run started at `start_ms` (monotonic ms): forgets every sample.
  void restart(std::uint64_t start_ms);
  // A sample of the run's memory at `now_ms` (monotonic ms, not before the last one).
  void add(std::uint64_t now_ms, std::uint64_t bytes, const MemoryTrendConfig& config);
  // The fit and the mark over the samples kept, as of the last add().
  MemoryTrendReport report(const MemoryTrendConfig& config) const;

  // The warm-up of a window: min(kMaxWarmupMs, window / 4).
  static std::uint64_t warmup_ms(std::uint64_t window_ms);

 private:
  struct Sample {
    std::uint64_t at_ms;
    std::uint64_t bytes;
  };
  std::deque<Sample> samples_;
  std::uint64_t start_ms_ = 0;
  std::uint64_t last_ms_ = 0;
};

// Seconds until memory at `bytes`, growing at `slope` bytes/s, reaches `limit`; nullopt when
// there is no limit (0), the slope is not positive, or it is already there.
std::optional<double> seconds_to_limit(std::uint64_t bytes, double slope, std::uint64_t limit);

}  // namespace herd::manager
