#include "logs/log_line_format.h"

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

namespace herd::manager {
namespace {

constexpr std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};
constexpr std::array<const char*, 7> kWeekdays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday", "Saturday"};

struct Parts {
  struct tm tm;
  int ms;
};

Parts local_parts(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  Parts p{};
  auto s = static_cast<std::time_t>(secs);
  if (::localtime_r(&s, &p.tm) == nullptr) {
    s = 0;
    ::gmtime_r(&s, &p.tm);
    p.tm.tm_gmtoff = 0;
  }
  p.ms = static_cast<int>(ms - secs * 1000);
  return p;
}

std::string zone(const struct tm& tm, bool colon) {
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  off = std::labs(off);
  return fmt::format("{}{:02}{}{:02}", sign, off / 3600, colon ? ":" : "", (off % 3600) / 60);
}

// The length of the token at the start of `f` in dayjs's REGEX_FORMAT
// (Y{1,4}|M{1,4}|D{1,2}|d{1,4}|H{1,2}|h{1,2}|a|A|m{1,2}|s{1,2}|Z{1,2}|SSS), 0 for none.
std::size_t token_length(std::string_view f) {
  char c = f[0];
  std::size_t max = 0;
  switch (c) {
    case 'Y':
    case 'M':
    case 'd':
      max = 4;
      break;
    case 'D':
    case 'H':
    case 'h':
    case 'm':
    case 's':
    case 'Z':
      max = 2;
      break;
    case 'a':
    case 'A':
      return 1;
    case 'S':
      return f.starts_with("SSS") ? 3 : 0;
    default:
      return 0;
  }
  std::size_t n = 1;
  while (n < max && n < f.size() && f[n] == c) ++n;
  return n;
}

std::string expand(std::string_view tok, const Parts& p) {
  const struct tm& tm = p.tm;
  int year = tm.tm_year + 1900;
  int h12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  std::string_view month = kMonths[static_cast<std::size_t>(tm.tm_mon)];
  std::string_view day = kWeekdays[static_cast<std::size_t>(tm.tm_wday)];
  if (tok == "YYYY") return fmt::format("{:04}", year);
  if (tok == "YY") return std::to_string(year).substr(std::to_string(year).size() - 2);
  if (tok == "M") return std::to_string(tm.tm_mon + 1);
  if (tok == "MM") return fmt::format("{:02}", tm.tm_mon + 1);
  if (tok == "MMM") return std::string(month.substr(0, 3));
  if (tok == "MMMM") return std::string(month);
  if (tok == "D") return std::to_string(tm.tm_mday);
  if (tok == "DD") return fmt::format("{:02}", tm.tm_mday);
  if (tok == "d") return std::to_string(tm.tm_wday);
  if (tok == "dd") return std::string(day.substr(0, 2));
  if (tok == "ddd") return std::string(day.substr(0, 3));
  if (tok == "dddd") return std::string(day);
  if (tok == "H") return std::to_string(tm.tm_hour);
  if (tok == "HH") return fmt::format("{:02}", tm.tm_hour);
  if (tok == "h") return std::to_string(h12);
  if (tok == "hh") return fmt::format("{:02}", h12);
  if (tok == "a") return tm.tm_hour < 12 ? "am" : "pm";
  if (tok == "A") return tm.tm_hour < 12 ? "AM" : "PM";
  if (tok == "m") return std::to_string(tm.tm_min);
  if (tok == "mm") return fmt::format("{:02}", tm.tm_min);
  if (tok == "s") return std::to_string(tm.tm_sec);
  if (tok == "ss") return fmt::format("{:02}", tm.tm_sec);
  if (tok == "SSS") return fmt::format("{:03}", p.ms);
  if (tok == "Z") return zone(tm, true);
  // "ZZ", and what dayjs matches but has no case for ("Y", "YYY"): its fallback, the offset
  // without the colon.
  return zone(tm, false);
}

}  // namespace

std::string format_dayjs(std::string_view format, std::chrono::system_clock::time_point t) {
  if (format.empty()) format = "YYYY-MM-DDTHH:mm:ssZ";  // dayjs's FORMAT_DEFAULT
  Parts p = local_parts(t);
  std::string out;
  while (!format.empty()) {
    if (format[0] == '[') {
      // [text]: the text as is; "[]" or an unclosed '[' is plain text, as in dayjs's regex.
      auto close = format.find(']', 1);
      if (close != std::string_view::npos && close > 1) {
        out.append(format.substr(1, close - 1));
        format.remove_prefix(close + 1);
        continue;
      }
    }
    std::size_t n = token_length(format);
    if (n == 0) {
      out.push_back(format[0]);
      format.remove_prefix(1);
      continue;
    }
    out += expand(format.substr(0, n), p);
    format.remove_prefix(n);
  }
  return out;
}

std::string format_iso_utc(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  auto s = static_cast<std::time_t>(secs);
  struct tm tm {};
  ::gmtime_r(&s, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms - secs * 1000);
}

LogLineFormat::LogLineFormat(Options options) : options_(std::move(options)) {}

const std::string& LogLineFormat::stamp() {
  if (!stamp_valid_) {
    auto now = std::chrono::system_clock::now();
    stamp_ = options_.date_format.empty() ? format_iso_utc(now)
                                          : format_dayjs(options_.date_format, now);
    stamp_valid_ = true;
  }
  return stamp_;
}

std::string_view LogLineFormat::apply(std::string_view line, bool complete) {
  if (!active()) return line;
  if (!options_.json) {
    out_.assign(stamp());
    out_.append(": ");
    out_.append(line);
    return out_;
  }
  std::string message(line);
  if (complete) message.push_back('\n');
  // nlohmann's object keeps keys sorted; PM2's order is built by hand, each value dumped.
  // Bytes that are not UTF-8 are replaced rather than failing the line.
  auto text = [](const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  out_ = fmt::format(R"({{"message":{},"timestamp":{},"type":{},"process_id":{},"app_name":{}}})",
                     text(message), text(stamp()), text(options_.type), options_.process_id,
                     text(options_.app_name));
  return out_;
}

}  // namespace herd::manager
