#include "app/cron.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <vector>

#include "base/ascii.h"

namespace herd::manager {
namespace {

using herd::detail::lower;

constexpr std::int64_t kDay = 86400;
// How far next_after() looks: far enough for Feb 29 after a non-leap century year is not an
// issue (2100 is 74 years away), and for every schedule parse() accepts to fire in it.
constexpr std::int64_t kHorizon = 8 * 366 * kDay;

struct FieldDef {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] is value `names_base + i`; nullptr when none
  int names_base;
  int name_count;
  bool day;  // accepts `?`
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr FieldDef kSecond{"second", 0, 59, nullptr, 0, 0, false};
constexpr FieldDef kMinute{"minute", 0, 59, nullptr, 0, 0, false};
constexpr FieldDef kHour{"hour", 0, 23, nullptr, 0, 0, false};
constexpr FieldDef kDayOfMonth{"day-of-month", 1, 31, nullptr, 0, 0, true};
constexpr FieldDef kMonth{"month", 1, 12, kMonthNames, 1, 12, false};
constexpr FieldDef kDayOfWeek{"day-of-week", 0, 7, kDayNames, 0, 7, true};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// One field being parsed; errors say which field and what is wrong with it.
class FieldParser {
 public:
  FieldParser(const FieldDef& def, std::string_view text) : def_(def), text_(text) {}

  std::unexpected<Error> error(const std::string& why) const {
    return fail(EINVAL, fmt::format("{} field \"{}\": {}", def_.name, text_, why));
  }

  // A number or (for months and weekdays) a name.
  Result<int> value(std::string_view v) const {
    if (v.empty()) return error("a value is missing");
    if (std::isdigit(static_cast<unsigned char>(v[0]))) {
      int n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size()) {
        return error(fmt::format("\"{}\" is not a number", v));
      }
      if (n < def_.min || n > def_.max) {
        return error(fmt::format("{} is out of range {}-{}", n, def_.min, def_.max));
      }
      return n;
    }
    if (def_.names != nullptr) {
      std::string name = lower(v);
      for (int i = 0; i < def_.name_count; ++i) {
        if (name == def_.names[i]) return def_.names_base + i;
      }
    }
    std::string_view what = v.size() == 1 ? special(v[0]) : std::string_view();
    if (!what.empty()) return error(fmt::format("\"{}\" ({}) is not supported", v, what));
    if (def_.names != nullptr) {
      return error(fmt::format("\"{}\" is neither a number nor a name ({}-{})", v, def_.names[0],
                               def_.names[def_.name_count - 1]));
    }
    return error(fmt::format("\"{}\" is not a number", v));
  }

  static std::string_view special(char c) {
    switch (c) {
      case 'L':
      case 'l':
        return "last";
      case 'W':
      case 'w':
        return "nearest weekday";
      case '#':
        return "nth weekday";
      default:
        return {};
    }
  }

  // The whole field: sets bits in *mask; *star when it starts with `*` (or `?`).
  Status parse(std::uint64_t* mask, bool* star) const {
    if (text_.empty()) return error("it is empty");
    *star = text_[0] == '*' || (def_.day && text_[0] == '?');
    for (std::string_view item : split(text_, ',')) {
      if (item.empty()) return error("an empty item in the list");
      if (Status s = parse_item(item, mask); !s) return s;
    }
    return {};
  }

 private:
  Status parse_item(std::string_view item, std::uint64_t* mask) const {
    std::string_view base = item;
    int step = 1;
    bool stepped = false;
    if (std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view s = item.substr(slash + 1);
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
        return error(fmt::format("step \"{}\" is not a number", s));
      }
      int span = def_.max - def_.min + 1;
      if (step < 1 || step > span) {
        return error(fmt::format("step {} is out of range 1-{}", step, span));
      }
      stepped = true;
    }
    int lo = def_.min;
    int hi = def_.max;
    if (base == "*" || (def_.day && base == "?")) {
      if (def_.max == 7) hi = 6;  // day-of-week: 7 is Sunday again
    } else {
      std::size_t dash = base.find('-', 1);
      auto first = value(base.substr(0, dash));
      if (!first) return std::unexpected(first.error());
      lo = *first;
      if (dash != std::string_view::npos) {
        auto last = value(base.substr(dash + 1));
        if (!last) return std::unexpected(last.error());
        hi = *last;
        // "FRI-SUN": Sunday at the end of a weekday range is day 7.
        if (def_.max == 7 && hi == 0 && lo > 0) hi = 7;
        if (hi < lo) {
          return error(fmt::format("range {}-{} goes backwards", base.substr(0, dash),
                                   base.substr(dash + 1)));
        }
      } else if (!stepped) {
        hi = lo;
      }
      // "N/STEP" (no range): from N to the field's maximum.
    }
    for (int v = lo; v <= hi; v += step) {
      int bit = def_.max == 7 && v == 7 ? 0 : v;
      *mask |= std::uint64_t{1} << bit;
    }
    return {};
  }

  const FieldDef& def_;
  std::string_view text_;
};

// Howard Hinnant's civil-calendar conversions (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t y;
  unsigned m;
  unsigned d;
};

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The lowest set bit >= from, or -1.
int next_bit(std::uint64_t mask, int from) {
  if (from >= 64) return -1;
  std::uint64_t rest = mask >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

long offset_at(std::time_t t) {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return tm.tm_gmtoff;
}

// The first instant in (lo, hi] whose UTC offset differs from `o` (the offset at lo).
std::optional<std::time_t> first_change(std::time_t lo, std::time_t hi, long o) {
  // Probing a week at a time: no time zone changes its offset twice within a week.
  std::time_t a = lo;
  while (a < hi) {
    std::time_t b = std::min<std::time_t>(hi, a + 7 * kDay);
    if (offset_at(b) != o) {
      while (b - a > 1) {
        std::time_t mid = a + (b - a) / 2;
        if (offset_at(mid) == o) {
          a = mid;
        } else {
          b = mid;
        }
      }
      return b;
    }
    a = b;
  }
  return std::nullopt;
}

}  // namespace

Result<CronSchedule> CronSchedule::parse(std::string_view expression) {
  auto fail_with = [&](const std::string& why) {
    return fail(EINVAL, fmt::format("cron \"{}\": {}", expression, why));
  };
  std::vector<std::string_view> fields = words(expression);
  if (fields.empty()) return fail_with("the expression is empty");
  if (fields.size() == 1 && fields[0][0] == '@') {
    std::string macro = lower(fields[0]);
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kMacros = {{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    for (const auto& [name, expansion] : kMacros) {
      if (macro == name) {
        auto s = parse(expansion);
        if (s) s->expression_ = std::string(expression);
        return s;
      }
    }
    if (macro == "@reboot") {
      return fail_with(
          "@reboot does not apply to cron_restart: herd starts every app when it starts");
    }
    return fail_with(
        fmt::format("unknown macro {} (known: @yearly, @annually, @monthly, "
                    "@weekly, @daily, @midnight, @hourly)",
                    fields[0]));
  }
  if (fields.size() != 5 && fields.size() != 6) {
    return fail_with(
        fmt::format("expected 5 fields (minute hour day-of-month month day-of-week) "
                    "or 6 (with seconds first), got {}",
                    fields.size()));
  }
  CronSchedule c;
  c.expression_ = std::string(expression);
  std::size_t i = 0;
  bool star = false;
  Status st;
  if (fields.size() == 6) {
    st = FieldParser(kSecond, fields[i++]).parse(&c.seconds_, &star);
  } else {
    c.seconds_ = 1;  // second 0
  }
  if (st) st = FieldParser(kMinute, fields[i++]).parse(&c.minutes_, &star);
  if (st) st = FieldParser(kHour, fields[i++]).parse(&c.hours_, &star);
  if (st) st = FieldParser(kDayOfMonth, fields[i++]).parse(&c.days_, &c.days_star_);
  if (st) st = FieldParser(kMonth, fields[i++]).parse(&c.months_, &star);
  if (st) st = FieldParser(kDayOfWeek, fields[i++]).parse(&c.weekdays_, &c.weekdays_star_);
  if (!st) return fail_with(st.error().context());

  // A day-of-month that no chosen month has never fires (when the weekday cannot rescue it).
  if (c.weekdays_star_ || c.days_star_) {
    static constexpr int kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if ((c.months_ >> m & 1) && next_bit(c.days_, 1) <= kMaxDays[m]) possible = true;
    }
    if (!possible) {
      return fail_with(fmt::format("day-of-month \"{}\" never occurs in month \"{}\"",
                                   fields[fields.size() - 3], fields[fields.size() - 2]));
    }
  }
  return c;
}

bool CronSchedule::day_matches(std::int64_t days) const {
  Civil c = civil_from_days(days);
  int weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  bool dom = days_ >> c.d & 1;
  bool dow = weekdays_ >> weekday & 1;
  // Vixie cron's rule: a `*` in either field makes the other one decide alone.
  return (days_star_ || weekdays_star_) ? (dom && dow) : (dom || dow);
}

bool CronSchedule::matches(const std::tm& tm) const {
  std::int64_t days = days_from_civil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1),
                                      static_cast<unsigned>(tm.tm_mday));
  return (seconds_ >> tm.tm_sec & 1) && (minutes_ >> tm.tm_min & 1) && (hours_ >> tm.tm_hour & 1) &&
         (months_ >> (tm.tm_mon + 1) & 1) && day_matches(days);
}

std::optional<std::int64_t> CronSchedule::next_match(std::int64_t naive) const {
  std::int64_t days = floor_div(naive, kDay);
  std::int64_t sod = naive - days * kDay;
  int h = static_cast<int>(sod / 3600);
  int mi = static_cast<int>(sod % 3600 / 60);
  int s = static_cast<int>(sod % 60);
  const std::int64_t last_day = days + kHorizon / kDay;
  Civil c = civil_from_days(days);
  while (days <= last_day) {
    if (s >= 60) s = 0, ++mi;
    if (mi >= 60) mi = 0, ++h;
    if (h >= 24) {
      h = mi = s = 0;
      c = civil_from_days(++days);
    }
    if (!(months_ >> c.m & 1)) {
      // The first day of the next month.
      c = c.m == 12 ? Civil{c.y + 1, 1, 1} : Civil{c.y, c.m + 1, 1};
      days = days_from_civil(c.y, c.m, 1);
      h = mi = s = 0;
      continue;
    }
    if (!day_matches(days)) {
      h = 24;
      continue;
    }
    int nh = next_bit(hours_, h);
    if (nh < 0) {
      h = 24;
      continue;
    }
    if (nh != h) h = nh, mi = s = 0;
    int nm = next_bit(minutes_, mi);
    if (nm < 0) {
      mi = 60;
      s = 0;
      continue;
    }
    if (nm != mi) mi = nm, s = 0;
    int ns = next_bit(seconds_, s);
    if (ns < 0) {
      s = 60;
      continue;
    }
    return days * kDay + h * 3600 + mi * 60 + ns;
  }
  return std::nullopt;
}

std::optional<std::time_t> CronSchedule::next_after(std::time_t after) const {
  const bool every_hour = hours_ == (std::uint64_t{1} << 24) - 1;
  const std::time_t horizon = after + kHorizon;
  std::time_t lo = after + 1;  // the earliest instant that may fire
  // Each round either answers or moves `lo` past a time-zone change or a skipped time.
  for (int round = 0; round < 1000 && lo <= horizon; ++round) {
    long o = offset_at(lo);
    auto wall = next_match(lo + o);
    if (!wall) return std::nullopt;
    std::time_t t = static_cast<std::time_t>(*wall - o);
    if (t > horizon) return std::nullopt;
    auto change = first_change(lo, t, o);
    if (!change) {
      // Fall back: a wall time already seen an hour ago fires again only for every-hour
      // schedules. Its first occurrence used the offset before the change.
      long before = offset_at(t - kDay);
      if (!every_hour && before > o &&
          offset_at(static_cast<std::time_t>(*wall - before)) == before) {
        lo = t + 1;
        continue;
      }
      return t;
    }
    long o2 = offset_at(*change);
    // Spring forward: wall times in [change + o, change + o2) do not exist; one that matches
    // fires as the clock jumps.
    if (o2 > o && *wall < *change + o2) return *change;
    lo = *change;
  }
  return std::nullopt;
}

Result<std::optional<CronSchedule>> parse_cron_restart(std::string_view text) {
  std::vector<std::string_view> w = words(text);
  if (w.empty() || (w.size() == 1 && w[0] == "0")) return std::optional<CronSchedule>();
  auto s = CronSchedule::parse(text);
  if (!s) return std::unexpected(s.error());
  return std::optional<CronSchedule>(std::move(*s));
}

}  // namespace herd::manager
