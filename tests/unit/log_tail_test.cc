#include "logs/log_tail.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "logs/rotating_file.h"
#include "logs_util.h"

namespace herd::manager {
namespace {

using test::split_lines;
using test::TempDir;
using test::write_file;
using Lines = std::vector<std::string>;

// What tail_file_lines must return: the last n lines of a naive split.
Lines naive_tail(const std::string& text, std::size_t n) {
  Lines all = split_lines(text);
  if (all.size() <= n) return all;
  return Lines(all.end() - static_cast<std::ptrdiff_t>(n), all.end());
}

TEST(TailLines, LastLinesOfAFile) {
  TempDir dir;
  std::string path = dir.file("a.log");
  write_file(path, "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(*tail_lines(path, 2), (Lines{"three", "four"}));
  EXPECT_EQ(*tail_lines(path, 4), (Lines{"one", "two", "three", "four"}));
  EXPECT_EQ(*tail_lines(path, 15), (Lines{"one", "two", "three", "four"}));
  EXPECT_TRUE(tail_lines(path, 0)->empty());
}

TEST(TailLines, EdgeCases) {
  TempDir dir;
  std::string path = dir.file("a.log");
  struct Case {
    std::string text;
    std::size_t n;
    Lines expected;
  };
  const std::vector<Case> cases = {
      {"", 3, {}},
      {"\n", 3, {""}},
      {"\n\n", 1, {""}},
      {"no newline", 2, {"no newline"}},
      {"a\nlast without newline", 1, {"last without newline"}},
      {"a\n\nb\n", 2, {"", "b"}},
      {"a\n\n", 2, {"a", ""}},
  };
  for (const auto& c : cases) {
    write_file(path, c.text);
    auto got = tail_file_lines(path, c.n);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, c.expected) << "text: " << c.text;
  }
}

TEST(TailLines, MatchesANaiveSplitAcrossBlockBoundaries) {
  TempDir dir;
  std::string path = dir.file("big.log");
  // Lines of many lengths, some longer than the 64 KiB read block, so line ends fall on and
  // around every block edge.
  std::string text;
  for (int i = 0; i < 400; ++i) {
    std::size_t len = (i % 37 == 0) ? 70000 + static_cast<std::size_t>(i)
                                    : static_cast<std::size_t>(i * 31 % 900);
    text += std::string(len, static_cast<char>('a' + i % 26)) + "\n";
  }
  for (bool final_newline : {true, false}) {
    std::string t = final_newline ? text : text.substr(0, text.size() - 1);
    write_file(path, t);
    for (std::size_t n : {1u, 2u, 5u, 15u, 37u, 38u, 100u, 399u, 400u, 401u, 1000u}) {
      auto got = tail_file_lines(path, n);
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(*got, naive_tail(t, n)) << "n=" << n << " final_newline=" << final_newline;
    }
  }
}

TEST(TailLines, MissingFileIsEmptyAndADirectoryIsAnError) {
  TempDir dir;
  auto missing = tail_lines(dir.file("none.log"), 5);
  ASSERT_TRUE(missing.has_value());
  EXPECT_TRUE(missing->empty());
  auto d = tail_lines(dir.path(), 5);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code(), EISDIR);
}

TEST(TailLines, LooksIntoTheRotatedFile) {
  TempDir dir;
  std::string path = dir.file("app-out.log");
  write_file(path + ".2", "ancient\n");
  write_file(path + ".1", "r1\nr2\nr3\nr4\n");
  write_file(path, "c1\nc2\n");
  EXPECT_EQ(*tail_lines(path, 2), (Lines{"c1", "c2"}));
  EXPECT_EQ(*tail_lines(path, 4), (Lines{"r3", "r4", "c1", "c2"}));
  // Only path.1 is looked into.
  EXPECT_EQ(*tail_lines(path, 50), (Lines{"r1", "r2", "r3", "r4", "c1", "c2"}));
  // The current file empty (just rotated): everything from path.1.
  write_file(path, "");
  EXPECT_EQ(*tail_lines(path, 2), (Lines{"r3", "r4"}));
}

TEST(TailLines, AcrossARealRotation) {
  TempDir dir;
  std::string path = dir.file("app-out.log");
  RotatingFile::Options o;
  o.max_size = 100;
  o.max_files = 3;
  RotatingFile f(path, o);
  std::vector<std::string> written;
  for (int i = 0; i < 12; ++i) {
    std::string line = "line " + std::to_string(i) + " of the app's output";
    ASSERT_TRUE(f.write(line + "\n").has_value());
    written.push_back(line);
  }
  ASSERT_GT(f.rotations(), 0u);
  auto got = tail_lines(path, 5);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, Lines(written.end() - 5, written.end()));
}

}  // namespace
}  // namespace herd::manager
