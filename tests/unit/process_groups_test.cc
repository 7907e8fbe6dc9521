// ProcessGroups: the sums by process group that measure an instance's whole tree when it has no
// cgroup, on a fake /proc (what each tick reads, and what it learns) and on the real one (a
// kept descriptor of a process that ended).
#include "metrics/process_groups.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "proc_stat_line.h"
#include "support/child.h"
#include "support/temp_dir.h"

namespace herd::manager {
namespace {

std::uint64_t page() { return static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)); }
long ticks() { return ::sysconf(_SC_CLK_TCK); }

// Group 100: a primary that reaped a child (cutime), and three workers; a process that left the
// group (setsid); one of another app.
void write_machine(const test::TempDir& proc) {
  proc.write("100/stat", stat_line(100, "server", 1, 100, ticks(), 0, ticks(), 1000));
  for (int w = 101; w <= 103; ++w) {
    proc.write(std::to_string(w) + "/stat", stat_line(w, "worker", 100, 100, ticks(), 0, 0, 2000));
  }
  proc.write("104/stat", stat_line(104, "escaped", 100, 104, ticks(), 0, 0, 5000));
  proc.write("200/stat", stat_line(200, "other", 1, 200, 0, 0, 0, 7));
  proc.write("self/stat", "not a pid");
  proc.write("sys/kernel/ns_last_pid", "200\n");
}

TEST(ProcessGroups, SumsTheMemoryAndCpuOfEachGroupFromOneScan) {
  test::TempDir proc;
  write_machine(proc);
  ProcessGroups groups(proc.path());
  auto g = groups.group(100);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->rss_bytes, (1000u + 3 * 2000u) * page());
  EXPECT_EQ(g->cpu_ms, 5000u);  // 4 processes' 1 s each, and the reaped child's 1 s
  EXPECT_EQ(groups.group(200)->rss_bytes, 7u * page());
  EXPECT_FALSE(groups.group(999));
  EXPECT_TRUE(groups.last_cost().full);
}

TEST(ProcessGroups, ATickReadsOnlyTheGroupsAskedAboutAndListsProcOnlyAfterANewPid) {
  test::TempDir proc;
  write_machine(proc);
  ProcessGroups groups(proc.path());
  ASSERT_TRUE(groups.group(100));  // the first tick reads everything

  // The next tick: the four processes of group 100, through their kept descriptors, and the
  // figures are the new ones.
  proc.write("101/stat", stat_line(101, "worker", 100, 100, 3 * ticks(), 0, 0, 2500));
  groups.next_tick();
  auto g = groups.group(100);
  ASSERT_TRUE(g);
  EXPECT_EQ(groups.last_cost().stat_reads, 4u);
  EXPECT_FALSE(groups.last_cost().listed);
  EXPECT_EQ(g->cpu_ms, 7000u);
  EXPECT_EQ(g->rss_bytes, (1000u + 2500u + 2 * 2000u) * page());

  // A worker forked (a new pid): /proc is listed, the newcomer read once and counted.
  proc.write("105/stat", stat_line(105, "worker", 100, 100, ticks(), 0, 0, 100));
  proc.write("sys/kernel/ns_last_pid", "105\n");
  groups.next_tick();
  g = groups.group(100);
  EXPECT_TRUE(groups.last_cost().listed);
  EXPECT_FALSE(groups.last_cost().full);
  EXPECT_EQ(groups.last_cost().stat_reads, 5u);
  EXPECT_EQ(g->cpu_ms, 8000u);

  // A worker ended (gone from the listing at the next new pid): no longer counted.
  std::filesystem::remove_all(proc / "103");
  proc.write("sys/kernel/ns_last_pid", "106\n");
  groups.next_tick();
  g = groups.group(100);
  EXPECT_EQ(g->cpu_ms, 7000u);
  EXPECT_EQ(groups.last_cost().stat_reads, 4u);
}

TEST(ProcessGroups, AProcessThatJoinsAGroupIsCountedByTheNextFullScan) {
  test::TempDir proc;
  write_machine(proc);
  ProcessGroups groups(proc.path());
  ASSERT_TRUE(groups.group(100));
  // 104 comes back into group 100 (setpgid): no pid was created, so only a full scan sees it.
  proc.write("104/stat", stat_line(104, "escaped", 100, 100, ticks(), 0, 0, 5000));
  unsigned tick = 1;
  bool full = false;
  std::uint64_t rss = 0;
  while (!full && tick <= ProcessGroups::kFullScanEvery) {
    groups.next_tick();
    ++tick;
    rss = groups.group(100)->rss_bytes;
    full = groups.last_cost().full;
    if (!full) {
      EXPECT_EQ(rss, 7000u * page()) << "tick " << tick;
    }
  }
  ASSERT_TRUE(full) << "no full scan in " << ProcessGroups::kFullScanEvery << " ticks";
  EXPECT_EQ(rss, 12000u * page());
}

TEST(ProcessGroups, ANewGroupIsFoundAtOnceAndAGroupNoLongerAskedAboutIsNotRead) {
  test::TempDir proc;
  write_machine(proc);
  ProcessGroups groups(proc.path());
  ASSERT_TRUE(groups.group(100));
  groups.next_tick();
  ASSERT_TRUE(groups.group(100));
  // An instance started (group 300, whose pid came and went without a new listing here): asking
  // for it reads everything once, in the same tick.
  proc.write("300/stat", stat_line(300, "new", 1, 300, 0, 0, 0, 9));
  auto g = groups.group(300);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->rss_bytes, 9u * page());
  EXPECT_TRUE(groups.last_cost().full);
  // From the next tick only group 300 is asked about: group 100's four processes are read once
  // more (it was asked about in the tick before), then no longer.
  groups.next_tick();
  ASSERT_TRUE(groups.group(300));
  EXPECT_EQ(groups.last_cost().stat_reads, 5u);
  groups.next_tick();
  ASSERT_TRUE(groups.group(300));
  EXPECT_EQ(groups.last_cost().stat_reads, 1u);
}

TEST(ProcessGroups, DescriptorsAreKeptForTheGroupsAskedAboutAndClosedWhenNoneIs) {
  test::TempDir proc;
  write_machine(proc);
  std::size_t before = KeptFile::held();
  ProcessGroups groups(proc.path());
  ASSERT_TRUE(groups.group(100));
  groups.next_tick();
  ASSERT_TRUE(groups.group(100));
  // Group 100's four processes and ns_last_pid.
  EXPECT_EQ(KeptFile::held(), before + 5);
  groups.next_tick();  // a tick that asks nothing (the last instance was deleted)
  groups.next_tick();
  EXPECT_EQ(KeptFile::held(), before);
  // And a later question starts again from a full scan.
  ASSERT_TRUE(groups.group(100));
  EXPECT_TRUE(groups.last_cost().full);
}

TEST(ProcessGroups, AProcessThatEndedIsNoLongerCountedEvenWithoutANewPid) {
  // The real /proc: a child in a group of its own, sampled, then killed and reaped.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setpgid(0, 0);
    ::pause();
    ::_exit(0);
  }
  test::ForkedGuard guard{child};
  ::setpgid(child, child);  // either side may run first
  ProcessGroups groups;
  ASSERT_TRUE(groups.group(child));
  groups.next_tick();
  auto g = groups.group(child);
  ASSERT_TRUE(g);
  EXPECT_GT(g->rss_bytes, 0u);
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  guard.pid = 0;
  groups.next_tick();
  EXPECT_FALSE(groups.group(child));
}

}  // namespace
}  // namespace herd::manager
