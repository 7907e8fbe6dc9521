// CronSchedule: a cron expression (PM2's `cron_restart`) and the next time it fires.
//
// Syntax, as Vixie cron / cronie and PM2 (croner) accept it:
//   5 fields   minute hour day-of-month month day-of-week      (fires at second 0)
//   6 fields   second minute hour day-of-month month day-of-week
// Each field is a comma-separated list of items: `*`, `N`, `N-M`, each optionally followed by
// `/STEP` (`*/15`, `10-40/5`; `N/STEP` means N to the field's maximum, as croner reads it).
// Months take JAN..DEC, days of the week SUN..SAT (any case, also in ranges: MON-FRI);
// day-of-week 0 and 7 are both Sunday. `?` is accepted as `*` in the two day fields.
// Macros: @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly. @reboot is
// refused: herd starts every app when it starts, so there is nothing for it to mean.
//
// Days: as in Vixie cron, when either day field starts with `*` (which includes `*/2`), a day
// must match both fields; when both are restricted, a day matching either one fires
// ("0 0 1,15 * MON" = the 1st, the 15th and every Monday).
//
// Time zone: fields are matched against the local wall-clock time of the process (TZ). Across
// daylight-saving changes:
//   - a wall time that does not exist (spring forward) fires once, at the instant the clock
//     jumps (so "30 2 * * *" runs at 03:00 on that day, not never);
//   - a wall time that happens twice (fall back) fires at its first occurrence only, unless the
//     hour field is `*` (every hour): such schedules are intervals and keep firing through the
//     repeated hour ("*/10 * * * *" runs every 10 minutes all night).
//
// Pure and thread-compatible: a CronSchedule is immutable; next_after() reads the time zone
// through localtime_r, which is thread-safe.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "herd/base/error.h"

namespace herd::manager {

class CronSchedule {
 public:
  // Parses an expression. EINVAL with a message that names the field and the problem, e.g.
  // "cron \"0 25 * * *\": hour field \"25\": 25 is out of range 0-23".
  static Result<CronSchedule> parse(std::string_view expression);

  // The first instant strictly after `after` (seconds since the epoch) at which the schedule
  // fires, in the local time zone; nullopt when it never fires within the next 8 years (parse()
  // refuses the impossible dates it can see, like "0 0 30 2 *").
  std::optional<std::time_t> next_after(std::time_t after) const;

  const std::string& expression() const { return expression_; }

  // Whether the wall-clock time `tm` (local, tm_isdst ignored) matches every field.
  bool matches(const std::tm& tm) const;

 private:
  CronSchedule() = default;
  // The first naive wall time (seconds of a UTC-like calendar) >= `naive` that matches.
  std::optional<std::int64_t> next_match(std::int64_t naive) const;
  bool day_matches(std::int64_t days_since_epoch) const;

  std::string expression_;
  // Bit i set: value i matches.
  std::uint64_t seconds_ = 0;
  std::uint64_t minutes_ = 0;
  std::uint64_t hours_ = 0;
  std::uint64_t days_ = 0;      // 1..31
  std::uint64_t months_ = 0;    // 1..12
  std::uint64_t weekdays_ = 0;  // 0..6, 0 = Sunday
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

// cron_restart as PM2 reads it: "" or "0" means no cron restart (nullopt); anything else must
// parse. The error is parse()'s.
Result<std::optional<CronSchedule>> parse_cron_restart(std::string_view text);

}  // namespace herd::manager
