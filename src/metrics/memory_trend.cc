#include "metrics/memory_trend.h"

#include <algorithm>

namespace herd::manager {

std::optional<LineFit> fit_line(const std::vector<TrendPoint>& points) {
  if (points.size() < 2) return std::nullopt;
  // Centred sums: the times are seconds since the daemon's start and the values up to
  // gigabytes, so the textbook sum-of-squares form would lose the slope to rounding.
  double n = static_cast<double>(points.size());
  double mean_t = 0, mean_y = 0;
  for (const auto& p : points) {
    mean_t += p.t;
    mean_y += p.y;
  }
  mean_t /= n;
  mean_y /= n;
  double stt = 0, sty = 0, syy = 0;
  for (const auto& p : points) {
    double dt = p.t - mean_t, dy = p.y - mean_y;
    stt += dt * dt;
    sty += dt * dy;
    syy += dy * dy;
  }
  if (stt <= 0) return std::nullopt;
  LineFit fit;
  fit.slope = sty / stt;
  // R² = explained / total variation; a flat series is explained perfectly by a flat line.
  fit.r2 = syy <= 0 ? 1.0 : std::clamp((sty * sty) / (stt * syy), 0.0, 1.0);
  return fit;
}

std::uint64_t MemoryTrend::warmup_ms(std::uint64_t window_ms) {
  return std::min(kMaxWarmupMs, window_ms / 4);
}

void MemoryTrend::restart(std::uint64_t start_ms) {
  samples_.clear();
  start_ms_ = start_ms;
  last_ms_ = start_ms;
}

void MemoryTrend::add(std::uint64_t now_ms, std::uint64_t bytes, const MemoryTrendConfig& config) {
  if (now_ms < last_ms_) return;  // the clock is monotonic; a stray older sample is dropped
  last_ms_ = now_ms;
  if (now_ms - start_ms_ < warmup_ms(config.window_ms)) return;
  if (!samples_.empty() && now_ms - samples_.back().at_ms < config.window_ms / kMaxSamples) return;
  samples_.push_back({now_ms, bytes});
  // Keep the window's samples, the one on its edge included (the window is then covered).
  while (samples_.size() > 1 && now_ms - samples_[1].at_ms >= config.window_ms) {
    samples_.pop_front();
  }
  if (now_ms - samples_.front().at_ms > config.window_ms) samples_.pop_front();
}

MemoryTrendReport MemoryTrend::report(const MemoryTrendConfig& config) const {
  MemoryTrendReport r;
  r.warming_up = last_ms_ - start_ms_ < warmup_ms(config.window_ms);
  r.samples = samples_.size();
  if (samples_.empty()) return r;
  const std::uint64_t first = samples_.front().at_ms;
  r.covered_ms = samples_.back().at_ms - first;
  auto points_between = [&](std::uint64_t from, std::uint64_t to) {
    std::vector<TrendPoint> points;
    for (const auto& s : samples_) {
      if (s.at_ms < from || s.at_ms > to) continue;
      points.push_back(
          {static_cast<double>(s.at_ms - first) / 1000.0, static_cast<double>(s.bytes)});
    }
    return points;
  };
  if (r.samples < 3 || r.covered_ms * 4 < config.window_ms) return r;
  r.fit = fit_line(points_between(first, samples_.back().at_ms));
  if (!r.fit || r.covered_ms * 10 < config.window_ms * 9 || r.samples < kMinLeakSamples ||
      r.fit->slope < config.threshold_bytes_per_s || r.fit->slope <= 0 || r.fit->r2 < kMinLeakR2) {
    return r;
  }
  // Steadily: every quarter of the window grew on its own.
  for (std::uint64_t q = 0; q < 4; ++q) {
    auto quarter =
        fit_line(points_between(first + r.covered_ms * q / 4, first + r.covered_ms * (q + 1) / 4));
    if (!quarter || quarter->slope <= 0) return r;
  }
  r.leak = true;
  return r;
}

std::optional<double> seconds_to_limit(std::uint64_t bytes, double slope, std::uint64_t limit) {
  if (limit == 0 || slope <= 0 || bytes >= limit) return std::nullopt;
  return static_cast<double>(limit - bytes) / slope;
}

}  // namespace herd::manager
