#include "logs/rotating_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "logs_util.h"
#include "support/child_process.h"

namespace herd::manager {
namespace {

using test::exists;
using test::file_size;
using test::read_file;
using test::split_lines;
using test::TempDir;

RotatingFile::Options small(std::uint64_t max_size, unsigned max_files) {
  RotatingFile::Options o;
  o.max_size = max_size;
  o.max_files = max_files;
  o.retry_interval_ms = 0;
  return o;
}

// Line i: "line <i> " padded with 'x' to `width` bytes, then '\n'.
std::string numbered_line(int i, std::size_t width = 40) {
  std::string s = fmt::format("line {:07} ", i);
  s.resize(width, 'x');
  s.push_back('\n');
  return s;
}

// reloadLogs after an outside rotation: the renamed file keeps what it had, the next lines go to
// a new file at the path, and its size starts from that file's.
TEST(RotatingFile, ReopenAfterAnOutsideRenameStartsANewFile) {
  TempDir dir;
  std::string path = dir.file("app-out.log");
  RotatingFile f(path, small(1000, 3));
  ASSERT_TRUE(f.write("one\n").has_value());
  ASSERT_EQ(::rename(path.c_str(), (path + ".rotated").c_str()), 0);
  ASSERT_TRUE(f.write("two\n").has_value());  // still the renamed file, through the descriptor
  ASSERT_TRUE(f.reopen().has_value());
  EXPECT_EQ(read_file(path), "");
  ASSERT_TRUE(f.write("three\n").has_value());
  EXPECT_EQ(read_file(path + ".rotated"), "one\ntwo\n");
  EXPECT_EQ(read_file(path), "three\n");
  EXPECT_EQ(f.size(), 6u);
  RotatingFile closed(dir.file("never-opened.log"));
  ASSERT_TRUE(closed.reopen().has_value());
  EXPECT_FALSE(exists(dir.file("never-opened.log")));
}

TEST(RotatingFile, CreatesWithMode0640AndAppends) {
  TempDir dir;
  std::string path = dir.file("app-out.log");
  test::write_file(path, "before\n");
  ::chmod(path.c_str(), 0600);
  RotatingFile f(path);
  ASSERT_TRUE(f.write("after\n").has_value());
  EXPECT_EQ(read_file(path), "before\nafter\n");
  EXPECT_EQ(f.size(), 13u);

  std::string fresh = dir.file("fresh.log");
  mode_t old = ::umask(0);
  RotatingFile g(fresh);
  ASSERT_TRUE(g.open().has_value());
  ::umask(old);
  struct stat st;
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  // The descriptor is append-only and close-on-exec: no app inherits another app's log.
  int found = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec) == fresh) {
      found = std::stoi(entry.path().filename().string());
    }
  }
  ASSERT_GE(found, 0);
  EXPECT_TRUE(::fcntl(found, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(found, F_GETFL) & O_APPEND);
}

TEST(RotatingFile, RotationBoundsTotalSize) {
  TempDir dir;
  std::string path = dir.file("app-out.log");
  const std::uint64_t max = 4096;
  RotatingFile f(path, small(max, 5));
  // Five times what the files may hold, in batches of three lines as a pipe drain gives them.
  std::uint64_t written = 0;
  for (int i = 0; written < 5 * 5 * max; i += 3) {
    std::string batch = numbered_line(i) + numbered_line(i + 1) + numbered_line(i + 2);
    ASSERT_TRUE(f.write(batch).has_value());
    written += batch.size();
  }
  std::uint64_t total = 0;
  for (unsigned i = 0; i < 5; ++i) {
    std::string p = f.rotated_path(i);
    ASSERT_TRUE(exists(p)) << p;
    EXPECT_LE(file_size(p), max) << p;
    // A rotated file was filled up to the last line that fit.
    if (i > 0) {
      EXPECT_GT(file_size(p), max - 41) << p;
    }
    total += file_size(p);
  }
  EXPECT_FALSE(exists(f.rotated_path(5)));
  EXPECT_LE(total, 5 * max);
  EXPECT_GT(f.rotations(), 20u);
  EXPECT_EQ(f.dropped_bytes(), 0u);
}

TEST(RotatingFile, LineOrderIsKeptAcrossRotation) {
  TempDir dir;
  std::string path = dir.file("app-out.log");
  RotatingFile f(path, small(1000, 4));
  const int kLines = 500;
  for (int i = 0; i < kLines; i += 7) {
    std::string batch;
    for (int j = i; j < std::min(i + 7, kLines); ++j) batch += numbered_line(j);
    ASSERT_TRUE(f.write(batch).has_value());
  }
  // Oldest file first: the numbers run on without a gap, and every file holds whole lines.
  std::vector<std::string> lines;
  for (int i = 3; i >= 0; --i) {
    std::string text = read_file(f.rotated_path(static_cast<unsigned>(i)));
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n') << "file " << i << " ends inside a line";
    for (auto& l : split_lines(text)) lines.push_back(l);
  }
  ASSERT_FALSE(lines.empty());
  int first = std::stoi(lines.front().substr(5, 7));
  for (std::size_t k = 0; k < lines.size(); ++k) {
    EXPECT_EQ(lines[k] + "\n", numbered_line(first + static_cast<int>(k)));
  }
  EXPECT_EQ(first + static_cast<int>(lines.size()), kLines);
}

TEST(RotatingFile, BatchLargerThanAFileIsSplitAtLineEnds) {
  TempDir dir;
  std::string path = dir.file("a.log");
  RotatingFile f(path, small(100, 10));
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += numbered_line(i, 30);  // 31 bytes a line
  ASSERT_TRUE(f.write(batch).has_value());
  // 3 lines (93 bytes) per file: 3, 3, 3, 1.
  EXPECT_EQ(file_size(f.rotated_path(3)), 93u);
  EXPECT_EQ(file_size(f.rotated_path(2)), 93u);
  EXPECT_EQ(file_size(f.rotated_path(1)), 93u);
  EXPECT_EQ(read_file(path), numbered_line(9, 30));
}

TEST(RotatingFile, LineLongerThanAFileIsCut) {
  TempDir dir;
  std::string path = dir.file("a.log");
  RotatingFile f(path, small(100, 5));
  std::string line(250, 'y');
  ASSERT_TRUE(f.write(line + "\n").has_value());
  EXPECT_EQ(read_file(f.rotated_path(2)), std::string(100, 'y'));
  EXPECT_EQ(read_file(f.rotated_path(1)), std::string(100, 'y'));
  EXPECT_EQ(read_file(path), std::string(50, 'y') + "\n");
}

TEST(RotatingFile, ExistingContentCountsTowardsTheLimit) {
  TempDir dir;
  std::string path = dir.file("a.log");
  test::write_file(path, std::string(90, 'o') + "\n");
  RotatingFile f(path, small(100, 3));
  ASSERT_TRUE(f.write("twenty bytes line..\n").has_value());
  EXPECT_EQ(read_file(f.rotated_path(1)), std::string(90, 'o') + "\n");
  EXPECT_EQ(read_file(path), "twenty bytes line..\n");
}

TEST(RotatingFile, SingleFileStartsOver) {
  TempDir dir;
  std::string path = dir.file("a.log");
  RotatingFile f(path, small(50, 1));
  ASSERT_TRUE(f.write(std::string(30, 'a') + "\n").has_value());
  ASSERT_TRUE(f.write(std::string(30, 'b') + "\n").has_value());
  EXPECT_EQ(read_file(path), std::string(30, 'b') + "\n");
  EXPECT_FALSE(exists(f.rotated_path(1)));
}

TEST(RotatingFile, FlushEmptiesTheFileAndRemovesRotatedOnes) {
  TempDir dir;
  std::string path = dir.file("a.log");
  RotatingFile f(path, small(100, 3));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(f.write(numbered_line(i)).has_value());
  ASSERT_TRUE(exists(f.rotated_path(2)));
  test::write_file(f.rotated_path(7), "left over from a larger max_files\n");  // not in the chain
  test::write_file(f.rotated_path(3), "left over\n");
  ASSERT_TRUE(f.flush().has_value());
  EXPECT_EQ(file_size(path), 0u);
  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(exists(f.rotated_path(1)));
  EXPECT_FALSE(exists(f.rotated_path(2)));
  EXPECT_FALSE(exists(f.rotated_path(3)));
  EXPECT_EQ(f.size(), 0u);
  // Writing goes on at offset 0 of the same file.
  ASSERT_TRUE(f.write("again\n").has_value());
  EXPECT_EQ(read_file(path), "again\n");
}

TEST(RotatingFile, FlushWithoutOpenFileTruncatesByPath) {
  TempDir dir;
  std::string path = dir.file("a.log");
  test::write_file(path, "old\n");
  test::write_file(path + ".1", "older\n");
  RotatingFile f(path, small(100, 3));
  ASSERT_TRUE(f.flush().has_value());
  EXPECT_EQ(file_size(path), 0u);
  EXPECT_FALSE(exists(path + ".1"));
  RotatingFile missing(dir.file("none.log"));
  EXPECT_TRUE(missing.flush().has_value());
}

TEST(RotatingFile, DevFullReportsOnceAndCountsDroppedBytes) {
  RotatingFile f("/dev/full", small(10, 5));
  int reports = 0;
  int code = 0;
  f.set_error_callback([&](const Error& e) {
    ++reports;
    code = e.code();
  });
  std::uint64_t offered = 0;
  for (int i = 0; i < 5; ++i) {
    std::string line = numbered_line(i);
    auto st = f.write(line);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), ENOSPC);
    offered += line.size();
  }
  EXPECT_EQ(reports, 1);
  EXPECT_EQ(code, ENOSPC);
  EXPECT_EQ(f.dropped_bytes(), offered);
  EXPECT_TRUE(f.failing());
  // Not a regular file: never renamed away (as root, rename("/dev/full") would succeed).
  EXPECT_EQ(f.rotations(), 0u);
  EXPECT_FALSE(exists("/dev/full.1"));
  struct stat st;
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_TRUE(f.flush().has_value());  // leaves a device alone
}

TEST(RotatingFile, DevNullIsWrittenButNeverRotated) {
  RotatingFile f("/dev/null", small(10, 5));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.write(numbered_line(i)).has_value());
  EXPECT_EQ(f.rotations(), 0u);
  EXPECT_FALSE(exists("/dev/null.1"));
}

// An outage here is a directory that is missing (the file cannot be opened): a symlink to
// /dev/full would be refused as a symlink (O_NOFOLLOW) before any write could fail.
TEST(RotatingFile, ResumesWhenTheTargetBecomesWritable) {
  TempDir dir;
  std::string sub = dir.file("sub");
  std::string path = sub + "/app.log";
  RotatingFile f(path, small(1000, 3));
  int reports = 0;
  f.set_error_callback([&](const Error&) { ++reports; });
  EXPECT_FALSE(f.write("lost 1\n").has_value());
  EXPECT_FALSE(f.write("lost 2\n").has_value());
  EXPECT_EQ(reports, 1);
  // "Space returns": the path can be created now; the next append re-opens it.
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  ASSERT_TRUE(f.write("kept\n").has_value());
  EXPECT_FALSE(f.failing());
  EXPECT_EQ(read_file(path), "kept\n");
  EXPECT_EQ(f.dropped_bytes(), 14u);
  // A second outage is reported again.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::rmdir(sub.c_str()), 0);
  f.close();
  EXPECT_FALSE(f.write("lost 3\n").has_value());
  EXPECT_EQ(reports, 2);
}

TEST(RotatingFile, RetryWaitsForTheInterval) {
  TempDir dir;
  std::string sub = dir.file("sub");
  std::string path = sub + "/app.log";
  auto options = small(1000, 3);
  options.retry_interval_ms = 3'600'000;
  RotatingFile f(path, options);
  f.set_error_callback([](const Error&) {});
  EXPECT_FALSE(f.write("lost\n").has_value());
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  // Within the interval the disk is not touched: dropped, and the file is not even created.
  auto st = f.write("dropped too\n");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ENOENT);
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(f.dropped_bytes(), 17u);
}

TEST(RotatingFile, SymlinkAtThePathIsNotFollowed) {
  TempDir dir;
  std::string path = dir.file("app.log");
  std::string target = dir.file("precious.txt");
  {
    RotatingFile t(target, small(1000, 3));
    ASSERT_TRUE(t.write("precious\n").has_value());
  }
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  RotatingFile f(path, small(1000, 3));
  std::string reported;
  f.set_error_callback([&](const Error& e) { reported = e.message(); });
  auto st = f.write("redirected?\n");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ELOOP);
  EXPECT_NE(reported.find("is a symbolic link"), std::string::npos) << reported;
  EXPECT_FALSE(f.flush().has_value());  // nor truncated through it
  EXPECT_EQ(read_file(target), "precious\n");
}

TEST(RotatingFile, OpenReportsABadPath) {
  TempDir dir;
  RotatingFile f(dir.file("no/such/dir/a.log"), small(100, 2));
  int reports = 0;
  f.set_error_callback([&](const Error&) { ++reports; });
  auto st = f.open();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ENOENT);
  EXPECT_NE(st.error().message().find("a.log"), std::string::npos);
  EXPECT_EQ(reports, 1);
}

// A real full disk: a 64 KiB tmpfs in a private mount namespace (so nothing outlives the
// helper process). Exit codes: 0 ok, 77 not permitted here, other values name the failed step.
int fill_tmpfs_and_recover(const TempDir& dir) {
  std::string path = dir.file("app-out.log");
  std::string filler = dir.file("filler");
  {
    // Leave about 8 KiB free.
    std::string block(4096, 'f');
    FILE* f = std::fopen(filler.c_str(), "w");
    for (int i = 0; i < 14; ++i) std::fwrite(block.data(), 1, block.size(), f);
    std::fclose(f);
  }
  RotatingFile log(path, small(1 << 20, 2));
  int reports = 0;
  int code = 0;
  log.set_error_callback([&](const Error& e) {
    ++reports;
    code = e.code();
  });
  int i = 0;
  for (; i < 10000 && !log.failing(); ++i) (void)log.write(numbered_line(i, 99));
  if (!log.failing()) return 2;
  for (int k = 0; k < 10; ++k) (void)log.write(numbered_line(i + k, 99));
  if (reports != 1 || code != ENOSPC) return 3;
  if (log.dropped_bytes() < 10 * 100) return 4;
  ::unlink(filler.c_str());  // space returns
  if (!log.write("resumed\n").has_value()) return 5;
  if (log.failing()) return 6;
  auto lines = split_lines(read_file(path));
  if (lines.empty() || lines.back() != "resumed") return 7;
  // The line cut by the full disk was ended, so "resumed" stands on a line of its own and every
  // line before it is a prefix of what was written.
  for (std::size_t k = 0; k + 1 < lines.size(); ++k) {
    std::string want = numbered_line(static_cast<int>(k), 99);
    if (want.compare(0, lines[k].size(), lines[k]) != 0) return 8;
  }
  return 0;
}

int tmpfs_role(int, char**) {
  if (::unshare(CLONE_NEWNS) != 0) return 77;
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 77;
  TempDir dir;
  if (::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=64k") != 0) return 77;
  int code = fill_tmpfs_and_recover(dir);
  ::umount(dir.path().c_str());
  return code;
}
bool tmpfs_registered = herd::test::register_role("rotating_file_tmpfs", tmpfs_role);

TEST(RotatingFile, FullTmpfsReportsOnceAndResumesWhenSpaceReturns) {
  auto r = herd::test::run_self("rotating_file_tmpfs");
  ASSERT_TRUE(r.exited) << "helper died or timed out";
  if (r.exit_code == 77) GTEST_SKIP() << "no permission to mount a tmpfs here";
  EXPECT_EQ(r.exit_code, 0) << "failed step " << r.exit_code;
}

// PM2 makes a log's missing folders (lib/Common.js); with dir_mode, so does RotatingFile, and
// without it a missing folder stays an error, as before.
TEST(RotatingFile, MakesMissingFoldersWithDirMode) {
  TempDir dir;
  std::string path = dir.file("a/b/c/app-out.log");
  RotatingFile plain(path, small(1024, 2));
  EXPECT_FALSE(plain.open().has_value());
  EXPECT_FALSE(exists(dir.file("a")));

  RotatingFile::Options o = small(1024, 2);
  o.dir_mode = 0755;
  mode_t old = ::umask(0);
  RotatingFile f(path, o);
  ASSERT_TRUE(f.write("line\n").has_value());
  ::umask(old);
  EXPECT_EQ(read_file(path), "line\n");
  for (const char* d : {"a", "a/b", "a/b/c"}) {
    struct stat st;
    ASSERT_EQ(::stat(dir.file(d).c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0755u) << d;
  }
}

// A folder that cannot be made (a file is in the way) is an error naming it, and the outage is
// reported like any other.
TEST(RotatingFile, SaysWhichFolderCouldNotBeMade) {
  TempDir dir;
  test::write_file(dir.file("blocker"), "x");
  RotatingFile::Options o = small(1024, 2);
  o.dir_mode = 0755;
  RotatingFile f(dir.file("blocker/sub/app.log"), o);
  int reported = 0;
  f.set_error_callback([&](const Error&) { ++reported; });
  auto st = f.open();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find(dir.file("blocker")), std::string::npos)
      << st.error().message();
  EXPECT_TRUE(f.failing());
  ASSERT_TRUE(f.last_error().has_value());
  EXPECT_EQ(reported, 1);
}

}  // namespace
}  // namespace herd::manager
