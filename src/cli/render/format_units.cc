// The units of the CLI's human output (format.h): uptimes, sizes, CPU percentages, times.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>

#include "cli/render/format.h"

namespace herd::cli {

std::string format_uptime(std::int64_t elapsed_ms) {
  const std::int64_t seconds = elapsed_ms < 0 ? 0 : elapsed_ms / 1000;
  struct Unit {
    std::int64_t seconds;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {
      {31536000, "Y"}, {2592000, "M"}, {86400, "D"}, {3600, "h"}, {60, "m"}};
  for (const auto& u : kUnits) {
    // PM2's rule (timeSince): a unit is used once it counts more than one.
    if (seconds / u.seconds > 1) return fmt::format("{}{}", seconds / u.seconds, u.suffix);
  }
  return fmt::format("{}s", seconds);
}

std::string format_memory(std::uint64_t bytes) {
  constexpr std::uint64_t kKilo = 1024;
  if (bytes < kKilo) return fmt::format("{}b", bytes);
  static constexpr const char* kSuffixes[] = {"kb", "mb", "gb", "tb"};
  std::uint64_t unit = kKilo;
  std::size_t k = 0;
  while (k + 1 < std::size(kSuffixes) && bytes >= unit * kKilo) unit *= kKilo, ++k;
  // round(10 * bytes / unit), half up, in integers: JavaScript's toFixed(1) rounds the exact
  // value half up, where printf("%.1f") would round an exact tie such as 1.25 to even.
  const std::uint64_t whole = bytes / unit;
  const std::uint64_t rest = bytes % unit;  // < unit <= 2^40, so rest * 10 cannot overflow.
  const std::uint64_t tenths = whole * 10 + (rest * 10 + unit / 2) / unit;
  return fmt::format("{}.{}{}", tenths / 10, tenths % 10, kSuffixes[k]);
}

std::string format_cpu(double percent) {
  if (!std::isfinite(percent) || percent < 0) return "N/A";
  const long long tenths = std::llround(std::min(percent, 1e15) * 10);
  if (tenths % 10 == 0) return fmt::format("{}%", tenths / 10);
  return fmt::format("{}.{}%", tenths / 10, tenths % 10);
}

std::string format_iso8601(std::int64_t ms_since_epoch) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms_since_epoch}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

}  // namespace herd::cli
