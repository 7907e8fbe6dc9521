#include "app/cron.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <cstdio>
#include <span>
#include <string>

namespace herd::manager {
namespace {

// "2026-01-01 00:00:00" (UTC) <-> seconds since the epoch.
std::time_t utc(const char* text) {
  std::tm tm{};
  int n = std::sscanf(text, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                      &tm.tm_min, &tm.tm_sec);
  EXPECT_EQ(n, 6) << text;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return ::timegm(&tm);
}

std::string utc_text(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Runs each test in a given time zone, and puts the old one back.
// One row of a next-fire table: the first fire of `expr` strictly after `after`, both UTC.
struct NextFire {
  const char* expr;
  const char* after;
  const char* want;
};

void expect_next_fires(std::span<const NextFire> cases) {
  for (const NextFire& c : cases) {
    SCOPED_TRACE(testing::Message() << c.expr << " after " << c.after);
    auto s = CronSchedule::parse(c.expr);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    auto next = s->next_after(utc(c.after));
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(utc_text(*next), c.want);
  }
}

class CronTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (had_tz_) {
      ::setenv("TZ", old_tz_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  void use_zone(const char* tz) {
    if (!saved_) {
      const char* old = std::getenv("TZ");
      had_tz_ = old != nullptr;
      if (had_tz_) old_tz_ = old;
      saved_ = true;
    }
    ::setenv("TZ", tz, 1);
    ::tzset();
  }

 private:
  bool saved_ = false;
  bool had_tz_ = false;
  std::string old_tz_;
};

TEST_F(CronTest, InvalidExpressionsNameTheField) {
  struct Case {
    const char* expr;
    const char* message;
  };
  const Case cases[] = {
      {"", "cron \"\": the expression is empty"},
      {"   ", "cron \"   \": the expression is empty"},
      {"* * *",
       "cron \"* * *\": expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
       "(with seconds first), got 3"},
      {"* * * * * * *",
       "cron \"* * * * * * *\": expected 5 fields (minute hour day-of-month month day-of-week) "
       "or 6 (with seconds first), got 7"},
      {"0 25 * * *", "cron \"0 25 * * *\": hour field \"25\": 25 is out of range 0-23"},
      {"60 * * * *", "cron \"60 * * * *\": minute field \"60\": 60 is out of range 0-59"},
      {"61 * * * * *", "cron \"61 * * * * *\": second field \"61\": 61 is out of range 0-59"},
      {"a * * * * *", "cron \"a * * * * *\": second field \"a\": \"a\" is not a number"},
      {"* * 0 * *", "cron \"* * 0 * *\": day-of-month field \"0\": 0 is out of range 1-31"},
      {"* * * 13 *", "cron \"* * * 13 *\": month field \"13\": 13 is out of range 1-12"},
      {"* * * FOO *",
       "cron \"* * * FOO *\": month field \"FOO\": \"FOO\" is neither a number nor a name "
       "(jan-dec)"},
      {"* * * * 8", "cron \"* * * * 8\": day-of-week field \"8\": 8 is out of range 0-7"},
      {"* * * * MONDAY",
       "cron \"* * * * MONDAY\": day-of-week field \"MONDAY\": \"MONDAY\" is neither a number "
       "nor a name (sun-sat)"},
      {"* * L * *", "cron \"* * L * *\": day-of-month field \"L\": \"L\" (last) is not supported"},
      {"* * * * 1#2", "cron \"* * * * 1#2\": day-of-week field \"1#2\": \"1#2\" is not a number"},
      {"*/0 * * * *", "cron \"*/0 * * * *\": minute field \"*/0\": step 0 is out of range 1-60"},
      {"*/x * * * *", "cron \"*/x * * * *\": minute field \"*/x\": step \"x\" is not a number"},
      {"5-1 * * * *", "cron \"5-1 * * * *\": minute field \"5-1\": range 5-1 goes backwards"},
      {"1,,2 * * * *", "cron \"1,,2 * * * *\": minute field \"1,,2\": an empty item in the list"},
      {"1- * * * *", "cron \"1- * * * *\": minute field \"1-\": a value is missing"},
      {"? * * * *", "cron \"? * * * *\": minute field \"?\": \"?\" is not a number"},
      {"0 0 30 2 *", "cron \"0 0 30 2 *\": day-of-month \"30\" never occurs in month \"2\""},
      {"0 0 31 4,6,9,11 *",
       "cron \"0 0 31 4,6,9,11 *\": day-of-month \"31\" never occurs in month \"4,6,9,11\""},
      {"@reboot",
       "cron \"@reboot\": @reboot does not apply to cron_restart: herd starts every app when "
       "it starts"},
      {"@often",
       "cron \"@often\": unknown macro @often (known: @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight, @hourly)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expr);
    auto s = CronSchedule::parse(c.expr);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), EINVAL);
    EXPECT_EQ(s.error().context(), c.message);
  }
}

TEST_F(CronTest, CronRestartZeroOrEmptyMeansNone) {
  for (const char* off : {"", "0", " 0 "}) {
    auto r = parse_cron_restart(off);
    ASSERT_TRUE(r.has_value()) << off;
    EXPECT_FALSE(r->has_value()) << off;
  }
  auto r = parse_cron_restart("0 3 * * *");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->expression(), "0 3 * * *");
  EXPECT_FALSE(parse_cron_restart("0 3 * *").has_value());
}

TEST_F(CronTest, NextFireInUtc) {
  use_zone("UTC0");
  const NextFire cases[] = {
      {"* * * * *", "2026-01-01 00:00:00", "2026-01-01 00:01:00"},
      {"* * * * *", "2026-01-01 00:00:59", "2026-01-01 00:01:00"},
      {"*/2 * * * * *", "2026-01-01 00:00:00", "2026-01-01 00:00:02"},
      {"*/2 * * * * *", "2026-01-01 00:00:01", "2026-01-01 00:00:02"},
      {"*/2 * * * * *", "2026-01-01 00:00:59", "2026-01-01 00:01:00"},
      {"30 * * * * *", "2026-12-31 23:59:30", "2027-01-01 00:00:30"},
      {"0 3 * * *", "2026-01-01 03:00:00", "2026-01-02 03:00:00"},
      {"0 3 * * *", "2026-01-01 02:59:59", "2026-01-01 03:00:00"},
      {"5/15 * * * *", "2026-01-01 00:50:00", "2026-01-01 01:05:00"},
      {"5/15 * * * *", "2026-01-01 00:05:00", "2026-01-01 00:20:00"},
      {"10-40/15 * * * *", "2026-01-01 00:26:00", "2026-01-01 00:40:00"},
      {"0 9-17/4 * * MON-FRI", "2026-01-02 09:00:00", "2026-01-02 13:00:00"},
      {"0 9-17/4 * * MON-FRI", "2026-01-02 17:00:00", "2026-01-05 09:00:00"},
      // Both day fields restricted: either one (2026-01-02 is a Friday).
      {"0 0 20 * FRI", "2026-01-01 00:00:00", "2026-01-02 00:00:00"},
      {"0 0 1,15 * MON", "2026-01-01 00:00:00", "2026-01-05 00:00:00"},
      // A day field that starts with '*' makes both count (Vixie cron): odd days that are
      // Fridays.
      {"0 0 */2 * FRI", "2026-01-01 00:00:00", "2026-01-09 00:00:00"},
      {"0 0 * * FRI-SUN", "2026-01-02 00:00:00", "2026-01-03 00:00:00"},
      {"0 0 * * FRI-SUN", "2026-01-03 00:00:00", "2026-01-04 00:00:00"},
      {"0 0 * * 7", "2026-01-01 00:00:00", "2026-01-04 00:00:00"},
      {"0 12 ? * sun", "2026-01-01 00:00:00", "2026-01-04 12:00:00"},
      {"30 4 1 jan,JUL *", "2026-01-01 05:00:00", "2026-07-01 04:30:00"},
      {"59 23 31 12 *", "2026-01-01 00:00:00", "2026-12-31 23:59:00"},
      {"0 0 29 2 *", "2026-03-01 00:00:00", "2028-02-29 00:00:00"},
      {"@hourly", "2026-01-01 00:30:00", "2026-01-01 01:00:00"},
      {"@daily", "2026-01-01 00:30:00", "2026-01-02 00:00:00"},
      {"@midnight", "2026-01-01 00:30:00", "2026-01-02 00:00:00"},
      {"@weekly", "2026-01-01 00:00:00", "2026-01-04 00:00:00"},
      {"@monthly", "2026-01-01 00:00:00", "2026-02-01 00:00:00"},
      {"@yearly", "2026-01-01 00:00:00", "2027-01-01 00:00:00"},
      {"@ANNUALLY", "2026-06-01 00:00:00", "2027-01-01 00:00:00"},
  };
  expect_next_fires(cases);
}

// Spring forward and fall back in a zone with daylight saving time: US Eastern, whose 2026
// changes are on Sunday March 8 (02:00 EST -> 03:00 EDT) and Sunday November 1 (02:00 EDT ->
// 01:00 EST). Times are UTC: EST is UTC-5, EDT UTC-4.
TEST_F(CronTest, DaylightSavingTransitions) {
  use_zone("EST5EDT,M3.2.0,M11.1.0");
  const NextFire cases[] = {
      // Midnight in winter and in summer.
      {"0 0 * * *", "2026-03-07 12:00:00", "2026-03-08 05:00:00"},
      {"0 0 * * *", "2026-07-01 12:00:00", "2026-07-02 04:00:00"},
      // 02:30 does not exist on March 8: it fires as the clock jumps (03:00 EDT), once.
      {"30 2 * * *", "2026-03-08 05:00:00", "2026-03-08 07:00:00"},
      {"30 2 * * *", "2026-03-08 07:00:00", "2026-03-09 06:30:00"},
      {"*/10 2 * * *", "2026-03-08 06:55:00", "2026-03-08 07:00:00"},
      {"*/10 2 * * *", "2026-03-08 07:00:00", "2026-03-09 06:00:00"},
      {"0 3 * * *", "2026-03-08 05:00:00", "2026-03-08 07:00:00"},
      // 01:30 happens twice on November 1: at its first occurrence only.
      {"30 1 * * *", "2026-11-01 04:00:00", "2026-11-01 05:30:00"},
      {"30 1 * * *", "2026-11-01 05:30:00", "2026-11-02 06:30:00"},
      {"0 2 * * *", "2026-11-01 04:00:00", "2026-11-01 07:00:00"},
      // Every-hour schedules keep their rhythm through the repeated hour.
      {"0 * * * *", "2026-11-01 04:30:00", "2026-11-01 05:00:00"},
      {"0 * * * *", "2026-11-01 05:00:00", "2026-11-01 06:00:00"},
      {"0 * * * *", "2026-11-01 06:00:00", "2026-11-01 07:00:00"},
      {"*/30 * * * * *", "2026-11-01 05:59:45", "2026-11-01 06:00:00"},
      {"*/30 * * * * *", "2026-03-08 06:59:45", "2026-03-08 07:00:00"},
  };
  expect_next_fires(cases);
}

// next_after() against a plain scan, minute by minute, with matches(): in UTC and in a zone with
// a half-hour offset and no daylight saving time.
TEST_F(CronTest, NextFireAgreesWithAScan) {
  const char* exprs[] = {"* * * * *",      "*/7 * * * *",      "15 */5 * * *",
                         "0 0 * * *",      "0 12 * * MON,THU", "0 0 1,15 * 3",
                         "0 0 */3 * SAT",  "45 23 * * 0",      "0 6-8 * JAN,FEB,MAR *",
                         "20-25 10 2 * *", "@hourly",          "0 0 28-31 * *"};
  const char* starts[] = {"2026-01-01 00:00:00", "2026-02-26 13:07:00", "2026-12-30 22:59:00"};
  for (const char* zone : {"UTC0", "XST-5:30"}) {
    use_zone(zone);
    for (const char* e : exprs) {
      auto s = CronSchedule::parse(e);
      ASSERT_TRUE(s.has_value()) << e;
      for (const char* start : starts) {
        SCOPED_TRACE(testing::Message() << zone << ": " << e << " after " << start);
        std::time_t t = utc(start);
        std::time_t want = 0;
        for (std::time_t m = t - t % 60 + 60; m < t + 40 * 86400; m += 60) {
          std::tm tm{};
          ::localtime_r(&m, &tm);
          if (s->matches(tm)) {
            want = m;
            break;
          }
        }
        ASSERT_NE(want, 0);
        auto next = s->next_after(t);
        ASSERT_TRUE(next.has_value());
        EXPECT_EQ(utc_text(*next), utc_text(want));
      }
    }
  }
}

TEST_F(CronTest, SuccessiveFiresOfASecondsSchedule) {
  use_zone("UTC0");
  auto s = CronSchedule::parse("*/2 * * * * *");
  ASSERT_TRUE(s.has_value());
  std::time_t t = utc("2026-05-05 10:00:00");
  for (int k = 1; k <= 100; ++k) {
    auto next = s->next_after(t);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next - t, 2);
    t = *next;
  }
}

}  // namespace
}  // namespace herd::manager
