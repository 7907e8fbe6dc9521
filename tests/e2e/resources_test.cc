// Resources (docs/resources.md) through the real CLI: cgroups detected and reported by `herd
// ping`, the limits max_memory (the kernel's OOM kill reported as "oom"), cpu_quota and
// max_tasks, the whole process tree measured (by cgroup, and by process group without one) and
// used by max_memory_restart, a stop that reaches a process which left its group, and bad input.
//
// The cgroup tests skip, saying why, where the daemon cannot create cgroups (not root, no
// delegated subtree).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::uint64_t kMB = 1024 * 1024;

class ResourcesTest : public HerdTest {
 protected:
  // Starts the daemon (with `env`) and returns what `herd ping` says of cgroups.
  std::string cgroups_line(const EnvVars& env = {}) {
    CommandResult r = herd({"ping"}, env);
    EXPECT_EQ(r.exit_code, 0) << r;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("cgroups", 0) == 0) return line;
    }
    return "(no cgroups line)";
  }
  // True when the daemon runs apps in cgroups; otherwise the caller skips with `*why`.
  bool cgroups_on(std::string* why) {
    *why = cgroups_line();
    return why->rfind("cgroups v", 0) == 0;
  }
  void expect_whole_tree_measured(const EnvVars& daemon_env);
};

// CPU time of a process (utime + stime) in clock ticks, from /proc/<pid>/stat.
std::uint64_t cpu_ticks(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

TEST_F(ResourcesTest, PingSaysWhetherCgroupsAreOnAndWhyNot) {
  std::string line = cgroups_line({{"HERD_CGROUPS", "off"}});
  EXPECT_EQ(line, "cgroups off: turned off by HERD_CGROUPS=off");
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("cgroups off: turned off by HERD_CGROUPS"));
  // A limit is refused when it cannot be enforced, naming the key.
  CommandResult r = herd({"start", test_binary(), "-n", "capped", "--max-memory", "64M"},
                         {{kRoleVar, "busy_loop"}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("max_memory needs cgroups, which are off: turned off by "
                               "HERD_CGROUPS=off"));
}

TEST_F(ResourcesTest, BadValuesAreRefusedWithTheKeyAndTheValue) {
  CommandResult r = herd({"start", test_binary(), "-n", "bad", "--max-memory", "-5"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--max-memory"));
  EXPECT_THAT(r.err, HasSubstr("'-5'"));
  std::string eco = path("eco.json");
  write_file(eco, R"({"apps": [{"name": "bad", "script": "/bin/true", "cpu_quota": "lots"}]})");
  r = herd({"start", eco});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("cpu_quota"));
  EXPECT_THAT(r.err, HasSubstr("lots"));
  write_file(eco, R"({"apps": [{"name": "bad", "script": "/bin/true", "max_memory": -5}]})");
  r = herd({"start", eco});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("max_memory"));
  EXPECT_THAT(r.err, HasSubstr("-5"));
  write_file(eco, R"({"apps": [{"name": "bad", "script": "/bin/true", "max_tasks": "x"}]})");
  r = herd({"start", eco});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("max_tasks"));
}

TEST_F(ResourcesTest, MaxMemoryIsHardTheOomKillIsReportedAndTheAppRestarted) {
  std::string why;
  if (!cgroups_on(&why)) GTEST_SKIP() << why;
  CommandResult r = herd({"start", test_binary(), "-n", "hog", "--max-memory", "64M"},
                         {{kRoleVar, "oom_hog"}, {kFileVar, path("hog.txt")}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        Json env = instance(l, "hog")["pm2_env"];
        return env.value("restart_time", 0) >= 1 && env.value("exit_reason", "") == "oom";
      },
      20s, &list))
      << list.dump(1);
  Json env = instance(list, "hog")["pm2_env"];
  EXPECT_EQ(env["exit_signal"], SIGKILL);
  EXPECT_EQ(env["max_memory"], 64 * kMB);
  // It never held the 200 MB it asked for.
  EXPECT_TRUE(read_file(path("hog.txt")).empty());
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("killed by the kernel's OOM killer"));
  r = herd({"describe", "hog"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("exit reason"));
  EXPECT_THAT(r.out, HasSubstr("oom"));
  EXPECT_THAT(r.out, HasSubstr("max memory"));
}

TEST_F(ResourcesTest, CpuQuotaHoldsABusyLoopToItsShare) {
  std::string why;
  if (!cgroups_on(&why)) GTEST_SKIP() << why;
  CommandResult r =
      herd({"start", test_binary(), "-n", "spin", "--cpu-quota", "20%"}, {{kRoleVar, "busy_loop"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("spin", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(instance(list, "spin")["pm2_env"]["cpu_quota"], "20%");
  pid_t pid = instance(list, "spin")["pid"];
  // The CPU time it got over a 3 s window of wall-clock time: at most its quota (plus a
  // period's rounding). A loaded machine only gives it less.
  long ticks = ::sysconf(_SC_CLK_TCK);
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t c0 = cpu_ticks(pid);
  std::this_thread::sleep_for(3s);
  std::uint64_t c1 = cpu_ticks(pid);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double share = static_cast<double>(c1 - c0) / static_cast<double>(ticks) / wall;
  EXPECT_LE(share, 0.25) << "used " << (c1 - c0) << " ticks in " << wall << " s";
  EXPECT_GT(c1, c0) << "it did not run at all";
}

// An app whose three children hold 50 MB each: herd counts the whole tree, with or without
// cgroups (then by its process group), and max_memory_restart acts on that.
void ResourcesTest::expect_whole_tree_measured(const EnvVars& daemon_env) {
  (void)herd({"ping"}, daemon_env);
  CommandResult r = herd({"start", test_binary(), "-n", "tree"},
                         {{kRoleVar, "forking_holder"}, {kFileVar, path("tree.txt")}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return !read_file(path("tree.txt")).empty(); }, 20s));
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        return HerdTest::instance(l, "tree")["monit"]["memory"].get<std::uint64_t>() >= 150 * kMB;
      },
      20s, &list))
      << list.dump(1);

  r = herd({"start", test_binary(), "-n", "capped", "--max-memory-restart", "100M"},
           {{kRoleVar, "forking_holder"}, {kFileVar, path("capped.txt")}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        return HerdTest::instance(l, "capped")["pm2_env"].value("restart_time", 0) >= 1;
      },
      20s, &list))
      << list.dump(1);
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("is over max_memory_restart 100.0 MB"));
}

TEST_F(ResourcesTest, WholeTreeMeasuredByCgroup) {
  std::string why;
  if (!cgroups_on(&why)) GTEST_SKIP() << why;
  expect_whole_tree_measured({});
}

TEST_F(ResourcesTest, WholeTreeMeasuredByProcessGroupWithoutCgroups) {
  expect_whole_tree_measured({{"HERD_CGROUPS", "off"}});
}

TEST_F(ResourcesTest, StopKillsAChildThatLeftTheProcessGroup) {
  std::string why;
  if (!cgroups_on(&why)) GTEST_SKIP() << why;
  CommandResult r = herd({"start", test_binary(), "-n", "escape", "--kill-timeout", "500"},
                         {{kRoleVar, "setsid_child"}, {kFileVar, path("child.pid")}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return !read_file(path("child.pid")).empty(); }, 20s));
  pid_t child = std::atoi(read_file(path("child.pid")).c_str());
  auto id = proc_id(child);
  ASSERT_TRUE(id);
  r = herd({"stop", "escape"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_for([&] { return dead(*id); }, 20s)) << "pid " << child << " survived stop";
}

TEST_F(ResourcesTest, EachInstanceHasACgroupWithItsLimitsAndNoneOutlivesTheDaemon) {
  std::string why;
  if (!cgroups_on(&why)) GTEST_SKIP() << why;
  CommandResult r = herd(
      {"start", "sleep 1000", "-n", "two", "-i", "2", "--max-tasks", "20", "--cpu-quota", "1.5"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("two", "online", 2, kWaitTimeout, &list)) << list.dump(1);
  std::set<std::string> groups;
  for (const Json& inst : instances(list, "two")) {
    std::string cgroup = inst["pm2_env"].value("cgroup", "");
    EXPECT_FALSE(cgroup.empty());
    groups.insert(cgroup);
    // The process is in it: /proc/<pid>/cgroup names it in every hierarchy herd uses.
    std::string mine = read_file("/proc/" + std::to_string(inst["pid"].get<int>()) + "/cgroup");
    EXPECT_THAT(mine, HasSubstr("/" + cgroup + "\n"));
  }
  EXPECT_EQ(groups.size(), 2u);
  // Where they are: `herd ping` says "cgroups v1 (...) in <root>, <root>, ...".
  std::string line = cgroups_line();
  std::vector<std::string> roots;
  std::string rest = line.substr(line.find(" in ") + 4);
  for (std::size_t at; (at = rest.find(", ")) != std::string::npos; rest = rest.substr(at + 2)) {
    roots.push_back(rest.substr(0, at));
  }
  roots.push_back(rest);
  ASSERT_FALSE(roots.empty());
  for (const std::string& root : roots) {
    for (const std::string& g : groups) {
      struct stat st {};
      EXPECT_EQ(::stat((root + "/" + g).c_str(), &st), 0) << root << "/" << g;
    }
    if (root.find("/pids/") != std::string::npos) {
      EXPECT_EQ(read_file(root + "/" + *groups.begin() + "/pids.max"), "20\n");
    }
    if (root.find("/cpu/") != std::string::npos) {
      EXPECT_EQ(read_file(root + "/" + *groups.begin() + "/cpu.cfs_quota_us"), "150000\n");
    }
  }
  r = herd({"kill"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (const std::string& root : roots) {
    EXPECT_TRUE(wait_for([&] {
      struct stat st {};
      return ::stat(root.c_str(), &st) != 0;
    })) << root
        << " is left behind";
  }
}

}  // namespace
}  // namespace herd::e2e
