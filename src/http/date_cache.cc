#include "http/date_cache.h"

#include <time.h>

namespace herd::http::detail {
namespace {

// Written by hand rather than with strftime: the names must be English whatever the locale.
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char* put2(char* p, int v) {
  *p++ = static_cast<char>('0' + v / 10 % 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

char* put(char* p, const char* s) {
  while (*s != '\0') *p++ = *s++;
  return p;
}

}  // namespace

std::string_view DateCache::format(std::time_t t, char (&buffer)[40]) {
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char* p = buffer;
  p = put(p, "Date: ");
  p = put(p, kDays[tm.tm_wday % 7]);
  p = put(p, ", ");
  p = put2(p, tm.tm_mday);
  *p++ = ' ';
  p = put(p, kMonths[tm.tm_mon % 12]);
  *p++ = ' ';
  int year = tm.tm_year + 1900;
  p = put2(p, year / 100);
  p = put2(p, year % 100);
  *p++ = ' ';
  p = put2(p, tm.tm_hour);
  *p++ = ':';
  p = put2(p, tm.tm_min);
  *p++ = ':';
  p = put2(p, tm.tm_sec);
  p = put(p, " GMT\r\n");
  return std::string_view(buffer, static_cast<std::size_t>(p - buffer));
}

std::string_view DateCache::line() {
  // time() is a vDSO read of the kernel's clock: cheaper than any bookkeeping to avoid it.
  std::time_t now = ::time(nullptr);
  if (now != cached_) {
    cached_ = now;
    line_ = format(now, buffer_);
  }
  return line_;
}

}  // namespace herd::http::detail
