// Reading /proc: one process's stat line, and the sums by process group that measure an
// instance's whole tree when it has no cgroup (on a fake /proc).
#include "metrics/proc_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "support/temp_dir.h"

namespace herd::manager {
namespace {

// A stat line: pid (comm) state ppid pgrp ... utime(14) stime(15) cutime(16) cstime(17) ...
// rss(24), in clock ticks and pages.
std::string stat_line(int pid, const std::string& comm, int ppid, int pgrp, long utime, long stime,
                      long cutime, int rss_pages) {
  std::ostringstream out;
  out << pid << " (" << comm << ") S " << ppid << ' ' << pgrp;
  for (int f = 6; f <= 13; ++f) out << " 0";
  out << ' ' << utime << ' ' << stime << ' ' << cutime << " 0";
  for (int f = 18; f <= 23; ++f) out << " 0";
  out << ' ' << rss_pages << " 0 0\n";
  return out.str();
}

TEST(ProcStats, ParsesACommandWithSpacesAndParentheses) {
  std::string line = stat_line(42, "my (odd) app", 1, 42, 100, 50, 0, 10);
  auto s = parse_proc_stat(line.data());
  ASSERT_TRUE(s);
  long ticks = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->pgid, 42);
  EXPECT_EQ(s->cpu_ms, static_cast<std::uint64_t>(150 * 1000 / ticks));
  EXPECT_EQ(s->rss_bytes, 10u * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
}

TEST(ProcessGroups, SumsTheMemoryAndCpuOfEachGroupFromOneScan) {
  test::TempDir proc;
  long ticks = ::sysconf(_SC_CLK_TCK);
  std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  // Group 100: a primary that reaped a child (cutime), and three workers.
  proc.write("100/stat", stat_line(100, "server", 1, 100, ticks, 0, ticks, 1000));
  for (int w = 101; w <= 103; ++w) {
    proc.write(std::to_string(w) + "/stat", stat_line(w, "worker", 100, 100, ticks, 0, 0, 2000));
  }
  // A process that left the group (setsid) and one of another app.
  proc.write("104/stat", stat_line(104, "escaped", 100, 104, ticks, 0, 0, 5000));
  proc.write("200/stat", stat_line(200, "other", 1, 200, 0, 0, 0, 7));
  proc.write("self/stat", "not a pid");
  ProcessGroups groups(proc.path().c_str());
  auto g = groups.group(100);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->rss_bytes, (1000u + 3 * 2000u) * page);
  EXPECT_EQ(g->cpu_ms, 5000u);  // 4 processes' 1 s each, and the reaped child's 1 s
  EXPECT_EQ(groups.group(200)->rss_bytes, 7u * page);
  EXPECT_FALSE(groups.group(999));
}

}  // namespace
}  // namespace herd::manager
