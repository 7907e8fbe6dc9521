#include "daemon/instance_diagnostics.h"

#include <cmath>

#include "herd/base/log.h"

namespace herd::manager {
namespace {

MemoryTrendConfig trend_config(const AppSpec& spec) {
  return {.window_ms = spec.memory_window_ms,
          .threshold_bytes_per_s = static_cast<double>(spec.memory_leak_threshold)};
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace

std::uint64_t memory_limit_bytes(const AppSpec& spec) { return spec.max_memory_restart; }

void InstanceDiagnostics::on_sample(pid_t pid, std::uint64_t now_ms, std::uint64_t rss_bytes,
                                    const AppSpec& spec) {
  if (pid != pid_) {
    pid_ = pid;
    trend_.restart(now_ms);
    history_.clear();
  }
  if (pid > 0 && rss_bytes > 0) {
    trend_.add(now_ms, rss_bytes, trend_config(spec));
    history_.push_back(rss_bytes);
    if (history_.size() > kHistory) history_.pop_front();
  }
  if (accepts_) {
    counts_.push_back({now_ms, accepts_->read()});
    // Keep one sample at or before the window's start, so the window's count is exact.
    while (counts_.size() > 1 && now_ms - counts_[1].at_ms >= spec.load_window_ms) {
      counts_.pop_front();
    }
    load_ = measure_load(spec.load_window_ms);
  }
}

int InstanceDiagnostics::accept_fd(const std::string& app, int id) {
  if (!accepts_ && !accepts_failed_) {
    auto made = AcceptCounter::create();
    if (!made) {
      accepts_failed_ = true;
      log_warn("app {} (id {}): no accept counter ({}); its load share is not measured", app, id,
               made.error().message());
    } else {
      accepts_ = std::move(*made);
    }
  }
  return accepts_ ? accepts_->fd() : -1;
}

void InstanceDiagnostics::adopt_accept_fd(int fd, const std::string& app, int id) {
  if (fd < 0) return;
  auto adopted = AcceptCounter::adopt(Fd(fd));
  if (!adopted) {
    log_warn("app {} (id {}): {}", app, id, adopted.error().message());
    return;
  }
  accepts_ = std::move(*adopted);
}

std::uint64_t InstanceDiagnostics::count_at(std::uint64_t at_ms) const {
  std::uint64_t count = counts_.empty() ? 0 : counts_.front().accepted;
  for (const auto& c : counts_) {
    if (c.at_ms > at_ms) break;
    count = c.accepted;
  }
  return count;
}

InstanceLoad InstanceDiagnostics::load(bool running, double cpu_percent) const {
  InstanceLoad l = load_;
  l.running = running;
  l.cpu_percent = cpu_percent;
  return l;
}

InstanceLoad InstanceDiagnostics::measure_load(std::uint64_t window_ms) const {
  InstanceLoad l;
  if (counts_.empty()) return l;
  std::uint64_t now = counts_.back().at_ms;
  std::uint64_t start = now >= window_ms ? now - window_ms : 0;
  std::uint64_t middle = now - window_ms / 2;
  // Covered: a sample within a second and a half of the window's start.
  l.covered = counts_.front().at_ms <= start + 1500;
  std::uint64_t at_start = count_at(start), at_middle = count_at(middle);
  l.accepted = counts_.back().accepted - at_start;
  l.accepted_first = at_middle - at_start;
  l.accepted_second = counts_.back().accepted - at_middle;
  return l;
}

nlohmann::json InstanceDiagnostics::memory_json(const AppSpec& spec,
                                                std::uint64_t rss_bytes) const {
  MemoryTrendReport r = trend_.report(trend_config(spec));
  std::optional<double> slope, r2, to_limit;
  if (r.fit) {
    slope = std::round(r.fit->slope * 10) / 10;
    r2 = std::round(r.fit->r2 * 1000) / 1000;
  }
  std::uint64_t limit = memory_limit_bytes(spec);
  if (slope) to_limit = seconds_to_limit(rss_bytes, *slope, limit);
  return {
      {"growth_bytes_per_s", optional_number(slope)},
      {"r2", optional_number(r2)},
      {"leak", r.leak},
      {"warming_up", r.warming_up},
      {"window_ms", spec.memory_window_ms},
      {"covered_ms", r.covered_ms},
      {"samples", r.samples},
      {"threshold_bytes_per_s", spec.memory_leak_threshold},
      {"limit_bytes", limit > 0 ? nlohmann::json(limit) : nlohmann::json()},
      {"seconds_to_limit", to_limit ? nlohmann::json(std::llround(*to_limit)) : nlohmann::json()},
      {"history", nlohmann::json(history_)},
  };
}

bool InstanceDiagnostics::leak(const AppSpec& spec) const {
  return trend_.report(trend_config(spec)).leak;
}

nlohmann::json InstanceDiagnostics::load_json(const AppSpec& spec, const LoadShare& share) const {
  const InstanceLoad& l = load_;
  auto rounded = [](const std::optional<double>& v) {
    return v ? nlohmann::json(std::round(*v * 1000) / 1000) : nlohmann::json();
  };
  return {
      {"window_ms", spec.load_window_ms},
      {"accepted_total", accepts_ ? nlohmann::json(accepts_->read()) : nlohmann::json()},
      {"accepted_in_window", accepts_ ? nlohmann::json(l.accepted) : nlohmann::json()},
      {"connection_share", rounded(share.connections)},
      {"cpu_share", rounded(share.cpu)},
      {"imbalance", share.imbalance},
  };
}

}  // namespace herd::manager
