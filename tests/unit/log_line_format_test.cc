#include "logs/log_line_format.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace herd::manager {
namespace {

using std::chrono::system_clock;

// Runs the test in a fixed time zone and restores the previous one.
class InZone {
 public:
  explicit InZone(const char* tz) {
    if (const char* old = ::getenv("TZ")) old_ = old, had_ = true;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~InZone() {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::string old_;
  bool had_ = false;
};

// 2026-03-05T07:08:09.045Z, a Thursday.
system_clock::time_point sample() {
  return system_clock::time_point(std::chrono::milliseconds(1772694489045));
}

// Expected values are what dayjs 1.11 (PM2 7.0.4's) writes for the same instant and zone:
// `TZ=... node -e "console.log(require('dayjs')(1772694489045).format(f))"`.
struct Case {
  const char* format;
  const char* utc;
  const char* plus_0530;
};

const Case kCases[] = {
    {"YYYY-MM-DDTHH:mm:ss", "2026-03-05T07:08:09", "2026-03-05T12:38:09"},
    {"YYYY-MM-DD HH:mm:ss.SSS Z", "2026-03-05 07:08:09.045 +00:00",
     "2026-03-05 12:38:09.045 +05:30"},
    {"YY M D H m s", "26 3 5 7 8 9", "26 3 5 12 38 9"},
    {"MMM MMMM d dd ddd dddd", "Mar March 4 Th Thu Thursday", "Mar March 4 Th Thu Thursday"},
    {"h hh a A", "7 07 am AM", "12 12 pm PM"},
    {"ZZ", "+0000", "+0530"},
    // dayjs's quirks: Y and YYY match its token pattern but have no case: the offset, no colon.
    {"Y|YYY", "+0000|+0000", "+0530|+0530"},
    // [text] is kept; "[]" and an unclosed "[" are plain text.
    {"[YYYY at] YYYY [] [x", "YYYY at 2026 [] [x", "YYYY at 2026 [] [x"},
    // dayjs's default format for an empty one.
    {"", "2026-03-05T07:08:09+00:00", "2026-03-05T12:38:09+05:30"},
    // Letters that are tokens are tokens anywhere ("s" of "tokens", "h" of "here").
    {"no tokens here!", "no token9 7ere!", "no token9 12ere!"},
};

TEST(FormatDayjs, MatchesDayjsInUtc) {
  InZone zone("UTC");
  for (const Case& c : kCases) EXPECT_EQ(format_dayjs(c.format, sample()), c.utc) << c.format;
}

TEST(FormatDayjs, MatchesDayjsInAZoneWithHalfHours) {
  InZone zone("IST-5:30");
  for (const Case& c : kCases) {
    EXPECT_EQ(format_dayjs(c.format, sample()), c.plus_0530) << c.format;
  }
}

TEST(FormatIsoUtc, IsJavaScriptsToIsoString) {
  InZone zone("IST-5:30");
  EXPECT_EQ(format_iso_utc(sample()), "2026-03-05T07:08:09.045Z");
  EXPECT_EQ(format_iso_utc(system_clock::time_point()), "1970-01-01T00:00:00.000Z");
}

TEST(LogLineFormat, InactiveWithoutDateFormatOrJson) {
  LogLineFormat f({});
  EXPECT_FALSE(f.active());
  EXPECT_EQ(f.apply("as is", true), "as is");
}

TEST(LogLineFormat, DateFormatPrefixesTheLine) {
  LogLineFormat f({.date_format = "[T]"});
  EXPECT_TRUE(f.active());
  f.begin();
  EXPECT_EQ(f.apply("hello", true), "T: hello");
  EXPECT_EQ(f.apply("", false), "T: ");
}

TEST(LogLineFormat, JsonHasPm2sFieldsInPm2sOrder) {
  LogLineFormat f({.json = true, .type = "err", .process_id = 7, .app_name = "api \"v2\""});
  f.begin();
  std::string line(f.apply("bad \"thing\"\t\xff", true));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["message"], "bad \"thing\"\t\xEF\xBF\xBD\n");  // invalid UTF-8 replaced
  EXPECT_EQ(j["type"], "err");
  EXPECT_EQ(j["process_id"], 7);
  EXPECT_EQ(j["app_name"], "api \"v2\"");
  EXPECT_EQ(line.find("{\"message\":"), 0u);
  EXPECT_LT(line.find("\"message\""), line.find("\"timestamp\""));
  EXPECT_LT(line.find("\"timestamp\""), line.find("\"type\""));
  EXPECT_LT(line.find("\"type\""), line.find("\"process_id\""));
  EXPECT_LT(line.find("\"process_id\""), line.find("\"app_name\""));
  EXPECT_EQ(j["timestamp"].get<std::string>().back(), 'Z');
  // The last line of a stream that ended without '\n' keeps none.
  EXPECT_EQ(nlohmann::json::parse(f.apply("tail", false))["message"], "tail");
}

TEST(LogLineFormat, JsonTimestampTakesTheDateFormat) {
  LogLineFormat f({.date_format = "[fixed]", .json = true, .type = "out"});
  f.begin();
  EXPECT_EQ(nlohmann::json::parse(f.apply("x", true))["timestamp"], "fixed");
}

}  // namespace
}  // namespace herd::manager
