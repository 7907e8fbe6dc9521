// cron_fuzz: a libFuzzer target for cron expressions (manager/cron.h).
//
// The input is the expression itself (so the corpus is readable and the dictionary applies).
// Every expression is parsed; one that parses is then asked for its next firing times in four
// time zones (UTC, New York, Berlin, and Lord Howe with its half-hour DST shift), from start
// times next to DST changes, a leap day and a year's end, plus one derived from the input.
// Besides the sanitizers' reports, the target checks what cron.h promises:
//   - next_after(t) is strictly after t and within the 8-year horizon, and a chain of calls
//     moves forward;
//   - the instant it returns matches the expression in local time, unless it is the instant a
//     DST change makes the clock jump (a wall time that does not exist fires then);
//   - parse_cron_restart agrees with parse (apart from blanks and "0", which mean no schedule).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

#include "app/cron.h"

namespace {

using herd::manager::CronSchedule;

constexpr const char* kZones[] = {"UTC0", ":America/New_York", ":Europe/Berlin",
                                  ":Australia/Lord_Howe"};

// 2026-03-08 06:30 UTC (New York springs forward at 07:00 UTC), 2026-11-01 05:30 UTC (New York
// falls back at 06:00 UTC), 2026-03-29 00:30 UTC (Berlin), 2026-10-03 15:00 UTC (Lord Howe
// springs forward by 30 minutes at 15:30 UTC), 2028-02-28 23:59:59 UTC (leap day next),
// 2026-12-31 23:59:59 UTC.
constexpr std::time_t kStarts[] = {1772951400, 1793511000, 1774744200,
                                   1790866800, 1835481599, 1798761599};

constexpr std::time_t kHorizon = 8 * 366 * 86400 + 2 * 86400;  // cron.cc's, plus a DST margin

[[noreturn]] void die(const std::string& expr, const char* zone, std::time_t t, const char* why) {
  std::fprintf(stderr, "cron_fuzz: \"%s\" in %s after %lld: %s\n", expr.c_str(), zone,
               static_cast<long long>(t), why);
  std::abort();
}

long utc_offset(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm.tm_gmtoff;
}

void check(const CronSchedule& cron, const std::string& expr, const char* zone, std::time_t start) {
  std::time_t t = start;
  for (int i = 0; i < 3; ++i) {
    std::optional<std::time_t> next = cron.next_after(t);
    if (!next) return;  // never within the horizon: allowed (an impossible date parse missed)
    if (*next <= t) die(expr, zone, t, "next_after is not after its argument");
    if (*next - t > kHorizon) die(expr, zone, t, "next_after is beyond the 8-year horizon");
    std::tm tm{};
    localtime_r(&*next, &tm);
    // A wall time skipped by a DST change fires at the instant of the jump, which the
    // expression need not match.
    bool jump = utc_offset(*next - 1) != utc_offset(*next);
    if (!cron.matches(tm) && !jump)
      die(expr, zone, t, "next_after returned a time that does not match");
    t = *next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 512) return 0;  // an expression is a line; longer ones only repeat the same paths
  std::string expr(reinterpret_cast<const char*>(data), size);
  auto cron = CronSchedule::parse(expr);
  auto restart = herd::manager::parse_cron_restart(expr);
  // cron_restart "" (or blanks) and "0" mean none; anything else is read as parse() reads it.
  std::size_t first = expr.find_first_not_of(" \t\n\v\f\r");
  std::size_t last = expr.find_last_not_of(" \t\n\v\f\r");
  bool none = first == std::string::npos || expr.substr(first, last - first + 1) == "0";
  if (none ? !(restart && !*restart)
           : restart.has_value() != cron.has_value() || (restart && !*restart)) {
    die(expr, "-", 0, "parse_cron_restart disagrees with parse");
  }
  if (!cron) {
    if (cron.error().context().empty()) die(expr, "-", 0, "an error without a message");
    return 0;
  }
  // One more start, from the input: anywhere in 2000..2068.
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint8_t b : expr) h = (h ^ b) * 1099511628211ull;
  std::time_t own = static_cast<std::time_t>(946684800 + h % (68ull * 365 * 86400));
  for (const char* zone : kZones) {
    ::setenv("TZ", zone, 1);
    ::tzset();
    for (std::time_t start : kStarts) check(*cron, expr, zone, start);
    check(*cron, expr, zone, own);
  }
  return 0;
}
