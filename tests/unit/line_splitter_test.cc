#include "logs/line_splitter.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace herd::manager {
namespace {

using Lines = std::vector<std::string>;

struct Collector {
  Lines lines;
  LineSplitter::LineCallback callback() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

struct Case {
  const char* name;
  std::string input;
  std::size_t max_line;
  Lines expected;  // after finish()
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"empty", "", 8, {}},
      {"one line", "hello\n", 8, {"hello"}},
      {"two lines", "a\nbc\n", 8, {"a", "bc"}},
      {"empty lines are lines", "\n\na\n\n", 8, {"", "", "a", ""}},
      {"partial last line on finish", "a\nbcd", 8, {"a", "bcd"}},
      {"carriage return is kept", "a\r\nb\r\n", 8, {"a\r", "b\r"}},
      {"exactly max_line stays whole", "abcd\n", 4, {"abcd"}},
      {"exactly max_line, no newline", "abcd", 4, {"abcd"}},
      {"max_line + 1 is cut", "abcde\n", 4, {"abcd", "e"}},
      {"twice max_line is two pieces", "abcdefgh\n", 4, {"abcd", "efgh"}},
      {"long line then short", "abcdefghij\nxy\n", 4, {"abcd", "efgh", "ij", "xy"}},
      {"long partial on finish", "abcdefghij", 4, {"abcd", "efgh", "ij"}},
      {"binary bytes pass through",
       std::string("a\0b\n\xff\n", 6),
       8,
       {std::string("a\0b", 3), "\xff"}},
  };
  return kCases;
}

Lines run_chunks(const Case& c, const std::vector<std::string_view>& chunks) {
  LineSplitter s(LineSplitter::Options{c.max_line, false});
  Collector out;
  for (auto chunk : chunks) {
    s.feed(chunk, out.callback());
    EXPECT_LE(s.pending(), c.max_line);
  }
  s.finish(out.callback());
  EXPECT_EQ(s.pending(), 0u);
  return out.lines;
}

TEST(LineSplitter, TableInOneChunk) {
  for (const auto& c : cases()) {
    EXPECT_EQ(run_chunks(c, {c.input}), c.expected) << c.name;
  }
}

TEST(LineSplitter, TableSplitAtEveryByte) {
  for (const auto& c : cases()) {
    std::string_view in(c.input);
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      EXPECT_EQ(run_chunks(c, {in.substr(0, cut), in.substr(cut)}), c.expected)
          << c.name << " cut at " << cut;
    }
  }
}

TEST(LineSplitter, TableOneByteAtATime) {
  for (const auto& c : cases()) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < c.input.size(); ++i) bytes.push_back({c.input.data() + i, 1});
    EXPECT_EQ(run_chunks(c, bytes), c.expected) << c.name;
  }
}

TEST(LineSplitter, HoldsPartialLineUntilItsNewline) {
  LineSplitter s;
  Collector out;
  s.feed("first\nsec", out.callback());
  EXPECT_EQ(out.lines, Lines{"first"});
  EXPECT_EQ(s.pending(), 3u);
  s.feed("ond", out.callback());
  EXPECT_EQ(out.lines, Lines{"first"});
  s.feed("\n", out.callback());
  EXPECT_EQ(out.lines, (Lines{"first", "second"}));
  EXPECT_EQ(s.pending(), 0u);
  s.finish(out.callback());  // nothing held: nothing more
  EXPECT_EQ(out.lines.size(), 2u);
}

TEST(LineSplitter, MemoryStaysBoundedWithoutNewlines) {
  LineSplitter s;  // 64 KiB cap
  Collector out;
  std::string chunk(10000, 'z');
  for (int i = 0; i < 100; ++i) {  // 1,000,000 bytes, no newline
    s.feed(chunk, out.callback());
    ASSERT_LE(s.pending(), LineSplitter::kDefaultMaxLine);
  }
  s.finish(out.callback());
  std::size_t total = 0;
  for (auto& l : out.lines) {
    EXPECT_LE(l.size(), LineSplitter::kDefaultMaxLine);
    total += l.size();
  }
  EXPECT_EQ(total, 1000000u);
  EXPECT_EQ(out.lines.size(), 1000000 / LineSplitter::kDefaultMaxLine + 1);
}

TEST(LineSplitter, TimestampPrefixHasIsoFormatWithMillisecondsAndOffset) {
  LineSplitter s(LineSplitter::Options{64, true});
  Collector out;
  s.feed("hello\nworld\nrest", out.callback());
  s.finish(out.callback());
  ASSERT_EQ(out.lines.size(), 3u);
  std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}: (.*)$)");
  const char* words[] = {"hello", "world", "rest"};
  for (int i = 0; i < 3; ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(out.lines[static_cast<std::size_t>(i)], m, re))
        << out.lines[static_cast<std::size_t>(i)];
    EXPECT_EQ(m[1], words[i]);
  }
}

TEST(LineSplitter, TimestampIsNotCountedInMaxLine) {
  LineSplitter s(LineSplitter::Options{4, true});
  Collector out;
  s.feed("abcdef\n", out.callback());
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[0].substr(31), "abcd");
  EXPECT_EQ(out.lines[1].substr(31), "ef");
}

// Sets TZ for the scope of a test and puts the old value back.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = ::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

TEST(FormatTimestamp, UtcAndOffsetsBothWays) {
  // 1795850023946 ms: PM2's pm_uptime in the conformance recording.
  std::chrono::system_clock::time_point t{std::chrono::milliseconds(1795850023946)};
  {
    ScopedTz tz("UTC0");
    EXPECT_EQ(format_timestamp(t), "2026-11-28T07:13:43.946+00:00");
  }
  {
    ScopedTz tz("IST-5:30");  // POSIX TZ: east of Greenwich is negative
    EXPECT_EQ(format_timestamp(t), "2026-11-28T12:43:43.946+05:30");
  }
  {
    ScopedTz tz("NST+3:30");
    EXPECT_EQ(format_timestamp(t), "2026-11-28T03:43:43.946-03:30");
  }
}

TEST(FormatTimestamp, MillisecondsArePaddedAndTruncated) {
  ScopedTz tz("UTC0");
  using std::chrono::microseconds;
  std::chrono::system_clock::time_point t{microseconds(1795850023007999)};
  EXPECT_EQ(format_timestamp(t), "2026-11-28T07:13:43.007+00:00");
  EXPECT_EQ(format_timestamp(std::chrono::system_clock::time_point{}),
            "1970-01-01T00:00:00.000+00:00");
}

TEST(FormatTimestamp, FollowsDaylightSavingTime) {
  // Central Europe: +01:00 in winter, +02:00 in summer (rule given inline, no tzdata needed).
  ScopedTz tz("CET-1CEST,M3.5.0,M10.5.0/3");
  using std::chrono::seconds;
  std::chrono::system_clock::time_point winter{seconds(1795850023)};  // 2026-11-28
  std::chrono::system_clock::time_point summer{seconds(1782000000)};  // 2026-06-21
  EXPECT_EQ(format_timestamp(winter).substr(23), "+01:00");
  EXPECT_EQ(format_timestamp(summer).substr(23), "+02:00");
}

}  // namespace
}  // namespace herd::manager
