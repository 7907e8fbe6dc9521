#include "cli/render/format_diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/render/format.h"

namespace herd::cli {
namespace {

using nlohmann::json;

const json& at(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

const json& diagnostics(const json& instance, const char* part) {
  return at(at(at(instance, "pm2_env"), "diagnostics"), part);
}

bool is_true(const json& v) { return v.is_boolean() && v.get<bool>(); }

std::uint64_t count(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number() && v.get<double>() > 0) return static_cast<std::uint64_t>(v.get<double>());
  return 0;
}

std::string percent(double share) { return fmt::format("{}%", std::lround(share * 100)); }

}  // namespace

std::string diagnostic_marks(const json& instance) {
  std::string marks;
  if (is_true(at(diagnostics(instance, "memory"), "leak"))) marks += " leak?";
  if (is_true(at(diagnostics(instance, "load"), "imbalance"))) marks += " imbalance";
  return marks;
}

std::string format_rate(double bytes_per_s) {
  if (!std::isfinite(bytes_per_s)) return "N/A";
  std::string size =
      format_memory(static_cast<std::uint64_t>(std::llround(std::fabs(bytes_per_s))));
  return fmt::format("{}{}/s", bytes_per_s > 0 ? "+" : bytes_per_s < 0 ? "-" : "", size);
}

std::vector<std::pair<std::string, std::string>> diagnostic_rows(const json& instance) {
  std::vector<std::pair<std::string, std::string>> rows;
  const json& m = diagnostics(instance, "memory");
  if (m.is_object()) {
    std::string window = format_uptime(static_cast<std::int64_t>(count(at(m, "window_ms"))));
    const json& slope = at(m, "growth_bytes_per_s");
    if (slope.is_number()) {
      const json& r2 = at(m, "r2");
      rows.emplace_back(
          "memory growth",
          fmt::format("{} over the last {} (r² {:.2f})", format_rate(slope.get<double>()),
                      format_uptime(static_cast<std::int64_t>(count(at(m, "covered_ms")))),
                      r2.is_number() ? r2.get<double>() : 0.0));
    } else {
      rows.emplace_back(
          "memory growth",
          is_true(at(m, "warming_up"))
              ? "warming up"
              : fmt::format("measuring ({} of {})",
                            format_uptime(static_cast<std::int64_t>(count(at(m, "covered_ms")))),
                            window));
    }
    rows.emplace_back(
        "memory leak?",
        is_true(at(m, "leak"))
            ? fmt::format("yes: grew steadily for {} above {}", window,
                          format_rate(static_cast<double>(count(at(m, "threshold_bytes_per_s")))))
            : fmt::format("no (window {}, threshold {})", window,
                          format_rate(static_cast<double>(count(at(m, "threshold_bytes_per_s"))))));
    const json& eta = at(m, "seconds_to_limit");
    if (eta.is_number()) {
      rows.emplace_back("memory limit in",
                        fmt::format("{} at this rate (limit {})",
                                    format_uptime(static_cast<std::int64_t>(count(eta)) * 1000),
                                    format_memory(count(at(m, "limit_bytes")))));
    }
  }
  const json& l = diagnostics(instance, "load");
  if (l.is_object()) {
    std::string window = format_uptime(static_cast<std::int64_t>(count(at(l, "window_ms"))));
    const json& share = at(l, "connection_share");
    const json& accepted = at(l, "accepted_in_window");
    if (!accepted.is_number()) {
      rows.emplace_back("connection share", "not measured (no accept counter)");
    } else {
      rows.emplace_back("connection share",
                        fmt::format("{} ({} accepted in the last {}, {} in all)",
                                    share.is_number() ? percent(share.get<double>()) : "N/A",
                                    count(accepted), window, count(at(l, "accepted_total"))));
    }
    const json& cpu = at(l, "cpu_share");
    rows.emplace_back("cpu share", cpu.is_number() ? percent(cpu.get<double>()) : "N/A");
    if (is_true(at(l, "imbalance"))) {
      rows.emplace_back("imbalance",
                        fmt::format("yes: more than twice the others' mean over {}", window));
    }
  }
  return rows;
}

std::string sparkline(const std::vector<std::uint64_t>& values, std::size_t width, bool unicode) {
  if (values.empty() || width == 0) return {};
  static constexpr const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static constexpr char kAscii[] = " .:-=+*#";
  std::size_t first = values.size() > width ? values.size() - width : 0;
  auto [lo, hi] =
      std::minmax_element(values.begin() + static_cast<std::ptrdiff_t>(first), values.end());
  std::string out;
  for (std::size_t i = first; i < values.size(); ++i) {
    std::size_t level = 0;
    if (*hi > *lo) level = static_cast<std::size_t>((values[i] - *lo) * 7 / (*hi - *lo));
    if (unicode) {
      out += kBlocks[level];
    } else {
      out += kAscii[level];
    }
  }
  return out;
}

std::string share_bar(double share, std::size_t width, bool unicode) {
  if (!std::isfinite(share)) share = 0;
  auto full = static_cast<std::size_t>(std::lround(std::clamp(share, 0.0, 1.0) * width));
  std::string out;
  for (std::size_t i = 0; i < width; ++i)
    out += i < full ? (unicode ? "█" : "#") : (unicode ? "░" : "-");
  return out;
}

}  // namespace herd::cli
