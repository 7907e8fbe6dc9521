#include "serve/http_date.h"

#include <fmt/format.h>

#include <algorithm>

namespace herd::serve {
namespace {

constexpr std::string_view kDays[] = {"Thu", "Fri", "Sat", "Sun",
                                      "Mon", "Tue", "Wed"};  // from 1970-01-01
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::int64_t kDay = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month, day;
};

// The inverse (civil_from_days).
constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr std::int64_t kFirst = days_from_civil(0, 1, 1) * kDay;
constexpr std::int64_t kLast = days_from_civil(10000, 1, 1) * kDay - 1;

// Exactly `n` digits at `s[at]`.
std::optional<int> digits(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string format_http_date(std::int64_t seconds) {
  seconds = std::clamp(seconds, kFirst, kLast);
  std::int64_t days = seconds / kDay - (seconds % kDay < 0);
  std::int64_t in_day = seconds - days * kDay;
  Civil c = civil_from_days(days);
  std::int64_t weekday = ((days % 7) + 7) % 7;
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[weekday], c.day,
                     kMonths[c.month - 1], c.year, in_day / 3600, in_day / 60 % 60, in_day % 60);
}

std::optional<std::int64_t> parse_http_date(std::string_view s) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes, fixed positions.
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (std::find(std::begin(kDays), std::end(kDays), s.substr(0, 3)) == std::end(kDays)) {
    return std::nullopt;
  }
  auto month = std::find(std::begin(kMonths), std::end(kMonths), s.substr(8, 3));
  auto day = digits(s, 5, 2);
  auto year = digits(s, 12, 4);
  auto hour = digits(s, 17, 2);
  auto minute = digits(s, 20, 2);
  auto second = digits(s, 23, 2);
  if (month == std::end(kMonths) || !day || !year || !hour || !minute || !second) {
    return std::nullopt;
  }
  if (*day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  auto m = static_cast<unsigned>(month - std::begin(kMonths) + 1);
  std::int64_t days = days_from_civil(*year, m, static_cast<unsigned>(*day));
  if (civil_from_days(days).day != static_cast<unsigned>(*day)) return std::nullopt;  // 31 Feb
  return days * kDay + *hour * 3600 + *minute * 60 + *second;
}

}  // namespace herd::serve
