// The CLI's units (uptime, memory, CPU, timestamps), terminal widths, sanitising, and the table.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/render/format.h"
#include "cli/render/table.h"
#include "unit/cli_format_util.h"

namespace herd::cli {
namespace {

// ---- units -------------------------------------------------------------------------------

TEST(FormatUptime, UsesPm2UnitsOnceTheyCountTwo) {
  constexpr std::int64_t kS = 1000, kMin = 60 * kS, kH = 60 * kMin, kD = 24 * kH;
  const struct {
    std::int64_t ms;
    const char* want;
  } cases[] = {
      {0, "0s"},        {999, "0s"},      {1 * kS, "1s"},
      {59 * kS, "59s"}, {90 * kS, "90s"}, {119 * kS, "119s"},
      {2 * kMin, "2m"}, {5 * kMin, "5m"}, {119 * kMin, "119m"},
      {2 * kH, "2h"},   {47 * kH, "47h"}, {3 * kD, "3D"},
      {59 * kD, "59D"}, {60 * kD, "2M"},  {2 * 365 * kD, "2Y"},
      {-5 * kS, "0s"},
  };
  for (const auto& c : cases) EXPECT_EQ(format_uptime(c.ms), c.want) << c.ms << " ms";
}

TEST(FormatMemory, LowercaseUnitsWithOneDecimal) {
  const struct {
    std::uint64_t bytes;
    const char* want;
  } cases[] = {
      {0, "0b"},
      {1023, "1023b"},
      {1024, "1.0kb"},
      {1280, "1.3kb"},        // 1.25 exactly: half up, as JavaScript's toFixed(1).
      {1048575, "1024.0kb"},  // PM2 switches unit only at the next power of 1024.
      {3280896, "3.1mb"},
      {126248550, "120.4mb"},
      {1288490189, "1.2gb"},
      {1099511627776, "1.0tb"},
      {1099511627776ull * 4096, "4096.0tb"},
  };
  for (const auto& c : cases) EXPECT_EQ(format_memory(c.bytes), c.want) << c.bytes << " bytes";
}

TEST(FormatCpu, OneDecimalWithoutTrailingZero) {
  const struct {
    double percent;
    const char* want;
  } cases[] = {
      {0, "0%"},       {0.04, "0%"},  {0.05, "0.1%"},     {12.5, "12.5%"}, {12.34, "12.3%"},
      {99.96, "100%"}, {100, "100%"}, {350.25, "350.3%"}, {-1, "N/A"},     {std::nan(""), "N/A"},
  };
  for (const auto& c : cases) EXPECT_EQ(format_cpu(c.percent), c.want) << c.percent;
}

TEST(FormatIso8601, MatchesJavaScriptToIsoString) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1795850023946), "2026-11-28T07:13:43.946Z");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(951782400000), "2000-02-29T00:00:00.000Z");
}

// ---- table ------------------------------------------------------------------------------

TEST(DisplayWidth, CountsTerminalColumns) {
  EXPECT_EQ(display_width(""), 0u);
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("↺"), 1u);
  EXPECT_EQ(display_width("┌─┬─┐"), 5u);
  EXPECT_EQ(display_width("✔✘"), 2u);
  EXPECT_EQ(display_width("日本"), 4u);
  EXPECT_EQ(display_width("🚀"), 2u);
  EXPECT_EQ(display_width("e\u0301"), 1u);  // e + combining acute accent.
  EXPECT_EQ(display_width("\x1b[1;36mid\x1b[0m"), 2u);
  EXPECT_EQ(display_width("\xff\xfe"), 2u);  // Invalid bytes: one replacement char each.
  EXPECT_EQ(display_width("\xe2\x86"), 2u);  // A truncated sequence, byte by byte.
}

TEST(Sanitize, NeutralisesControlsAndInvalidUtf8) {
  EXPECT_EQ(sanitize("plain ↺ 日本"), "plain ↺ 日本");
  EXPECT_EQ(sanitize("a\tb"), "a b");
  EXPECT_EQ(sanitize("a\nb\r"), "a?b?");
  EXPECT_EQ(sanitize("\x1b[2Jboom"), "?[2Jboom");
  EXPECT_EQ(sanitize(std::string("\xc2\x9b") + "31m"), "?31m");  // C1 CSI.
  EXPECT_EQ(sanitize("\x7f"), "?");
  EXPECT_EQ(sanitize("\xff"), "\uFFFD");
  EXPECT_EQ(sanitize("\xc0\xaf"), "\uFFFD\uFFFD");            // Overlong '/'.
  EXPECT_EQ(sanitize("\xed\xa0\x80"), "\uFFFD\uFFFD\uFFFD");  // A surrogate.
  EXPECT_EQ(sanitize(std::string("a\0b", 3)), "a?b");
}

// No input, however broken, leaves a control byte in the output or gains columns on the way.
TEST(Sanitize, EveryTwoByteInputComesOutPrintable) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string in{static_cast<char>(a), static_cast<char>(b)};
      const std::string out = sanitize(in);
      for (unsigned char c : out) ASSERT_TRUE(c >= 0x20 && c != 0x7F) << a << "," << b;
      ASSERT_EQ(sanitize(out), out) << a << "," << b;  // Idempotent.
      ASSERT_LE(display_width(out), 2u) << a << "," << b;
    }
  }
}

TEST(Table, DrawsPm2Box) {
  Table t({"id", "name"});
  t.add_row({"0", "demo"});
  t.add_row({"10", "x"});
  EXPECT_EQ(t.render(false),
            "┌────┬──────┐\n"
            "│ id │ name │\n"
            "├────┼──────┤\n"
            "│ 0  │ demo │\n"
            "│ 10 │ x    │\n"
            "└────┴──────┘\n");
}

TEST(Table, HeaderOnlyAndHeaderless) {
  EXPECT_EQ(Table({"a", "bb"}).render(false),
            "┌───┬────┐\n"
            "│ a │ bb │\n"
            "└───┴────┘\n");
  Table kv;
  kv.add_row({"key", "value"});
  kv.add_row({"k"});  // A short row: the missing cell renders empty.
  EXPECT_EQ(kv.render(false),
            "┌─────┬───────┐\n"
            "│ key │ value │\n"
            "│ k   │       │\n"
            "└─────┴───────┘\n");
  EXPECT_EQ(Table().render(true), "");
}

TEST(Table, StylesTextOnlyWithColour) {
  Table t({Cell("h", "1;36")});
  t.add_row({Cell("ok", "32")});
  EXPECT_EQ(t.render(true),
            "┌────┐\n"
            "│ \x1b[1;36mh\x1b[0m  │\n"
            "├────┤\n"
            "│ \x1b[32mok\x1b[0m │\n"
            "└────┘\n");
  EXPECT_EQ(t.render(false).find('\x1b'), std::string::npos);
}

TEST(Table, AlignsWideAndCombiningCharacters) {
  Table t({"name", "↺"});
  t.add_row({"日本語", "1"});
  t.add_row({"cafe\u0301", "22"});
  t.add_row({"🚀 go", "333"});
  const std::string out = t.render(false);
  expect_aligned(out);
  EXPECT_EQ(lines_of(out)[3], "│ 日本語 │ 1   │");
  EXPECT_EQ(lines_of(out)[4], "│ cafe\u0301   │ 22  │");
}

}  // namespace
}  // namespace herd::cli
