// herd's cgroups (src/daemon/cgroup): where the daemon's own groups are found, and the v1 and
// v2 backends on fake trees in a temp dir (a kernel's files, written and read as plain files).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "daemon/cgroup/cgroup_files.h"
#include "daemon/cgroup/cgroup_tree.h"
#include "daemon/cgroup/cgroup_v1.h"
#include "daemon/cgroup/cgroup_v2.h"
#include "support/temp_dir.h"

namespace herd::manager {
namespace {

std::string read(const std::string& path) { return cgroup::read_text(path).value_or("(none)"); }

TEST(CgroupLayout, FindsTheDaemonsGroupsFromMountinfoAndProcSelfCgroup) {
  // This build machine's shape: v1 controllers, an empty v2 hierarchy, the memory group nested.
  std::string mountinfo =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  std::string self =
      "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";
  CgroupLayout l = find_cgroup_layout(mountinfo, self);
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l.v1.at("memory"), "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(l.v1.at("cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_EQ(l.v1.at("cpuacct"), "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(l.v1.at("pids"), "/sys/fs/cgroup/pids");
  EXPECT_FALSE(l.v1.contains("name=systemd"));
}

TEST(CgroupLayout, V2UnderSystemdAndCoMountedV1AndAMountRoot) {
  CgroupLayout v2 =
      find_cgroup_layout("25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                         "0::/system.slice/herd.service\n");
  EXPECT_EQ(v2.v2_dir, "/sys/fs/cgroup/system.slice/herd.service");
  EXPECT_TRUE(v2.v1.empty());
  // cpu and cpuacct mounted together; a container whose mount shows only its own subtree.
  CgroupLayout v1 = find_cgroup_layout(
      "30 25 0:26 /docker/x /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
      "3:cpu,cpuacct:/docker/x/app\n");
  EXPECT_EQ(v1.v1.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct/app");
  EXPECT_EQ(v1.v1.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/app");
}

TEST(CgroupName, DependsOnTheHomeOnly) {
  EXPECT_EQ(cgroup_group_name("/root/.herd"), cgroup_group_name("/root/.herd"));
  EXPECT_NE(cgroup_group_name("/root/.herd"), cgroup_group_name("/srv/team/.herd"));
  EXPECT_EQ(cgroup_group_name("/x").rfind("herd-", 0), 0u);
  EXPECT_EQ(cgroup_group_name("/x").size(), 5u + 12u);
}

TEST(CgroupName, ANewDirectoryAtTheSamePathGetsAnotherName) {
  test::TempDir t;
  std::string home = t / "home";
  ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
  std::string first = cgroup_group_name(home);
  EXPECT_EQ(cgroup_group_name(home), first);
  // Made anew while the first still exists elsewhere (moved): another inode for sure.
  ASSERT_EQ(::rename(home.c_str(), (t / "moved").c_str()), 0);
  ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
  EXPECT_NE(cgroup_group_name(home), first);
}

TEST(CgroupV1, WritesLimitsReadsUsageAndOomKillsAndRemoves) {
  test::TempDir t;
  CgroupV1 v1({{"memory", t / "memory/herd"},
               {"cpu", t / "cpu/herd"},
               {"cpuacct", t / "cpuacct/herd"},
               {"pids", t / "pids/herd"}});
  ASSERT_TRUE(
      ::mkdir((t / "memory").c_str(), 0755) == 0 && ::mkdir((t / "cpu").c_str(), 0755) == 0 &&
      ::mkdir((t / "cpuacct").c_str(), 0755) == 0 && ::mkdir((t / "pids").c_str(), 0755) == 0);
  ASSERT_TRUE(v1.init());
  ASSERT_TRUE(v1.create("api-0-0", {.memory_max = 64u << 20, .cpu_milli = 200, .max_tasks = 32}));
  EXPECT_EQ(read(t / "memory/herd/api-0-0/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(read(t / "cpu/herd/api-0-0/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read(t / "cpu/herd/api-0-0/cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(read(t / "pids/herd/api-0-0/pids.max"), "32");
  // The name is taken: EEXIST, so that the tree picks another.
  auto again = v1.create("api-0-0", {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), EEXIST);

  // What the kernel would show.
  t.write("memory/herd/api-0-0/memory.usage_in_bytes", "209715200\n");
  t.write("memory/herd/api-0-0/memory.stat", "cache 0\ntotal_inactive_file 10485760\n");
  t.write("cpuacct/herd/api-0-0/cpuacct.usage", "2500000000\n");
  t.write("memory/herd/api-0-0/memory.oom_control",
          "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  auto u = v1.usage("api-0-0");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->memory_bytes, 200u * 1024 * 1024 - 10u * 1024 * 1024);
  EXPECT_EQ(u->cpu_usec, 2500000u);
  EXPECT_EQ(v1.oom_kills("api-0-0"), 2u);
  EXPECT_EQ(v1.groups(), std::vector<std::string>{"api-0-0"});

  // Joining: the cgroup.procs file of every hierarchy, once each.
  for (const char* h : {"memory", "cpu", "cpuacct", "pids"}) {
    t.write(std::string(h) + "/herd/api-0-0/cgroup.procs", "");
  }
  auto fds = v1.open_procs("api-0-0");
  ASSERT_TRUE(fds);
  EXPECT_EQ(fds->size(), 4u);
}

TEST(CgroupV1, KillsEveryPidItListsEvenOneThatLeftItsProcessGroup) {
  test::TempDir t;
  CgroupV1 v1({{"pids", t / "herd"}});
  ASSERT_TRUE(v1.init());
  ASSERT_TRUE(v1.create("a-0-0", {}));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setsid();
    ::pause();
    ::_exit(0);
  }
  t.write("herd/a-0-0/cgroup.procs", std::to_string(child) + "\n");
  EXPECT_EQ(v1.pids("a-0-0"), std::vector<pid_t>{child});
  v1.kill_all("a-0-0");
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(CgroupV1, ALimitWithoutItsControllerIsRefusedByName) {
  test::TempDir t;
  CgroupV1 v1({{"pids", t / "herd"}});
  ASSERT_TRUE(v1.init());
  auto r = v1.create("a-0-0", {.memory_max = 64u << 20});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("max_memory"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("memory controller"), std::string::npos);
}

TEST(CgroupV2, EnablesControllersWritesLimitsAndReadsItsFiles) {
  test::TempDir t;
  t.write("service/cgroup.controllers", "cpuset cpu io memory pids\n");
  t.write("service/cgroup.subtree_control", "");
  CgroupV2 v2(t / "service", "herd-1");
  ASSERT_TRUE(v2.init());
  EXPECT_EQ(v2.controllers(), (std::vector<std::string>{"memory", "cpu", "pids"}));
  EXPECT_EQ(read(t / "service/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_EQ(read(t / "service/herd-1/cgroup.subtree_control"), "+memory +cpu +pids");

  ASSERT_TRUE(v2.create("web-3-1", {.memory_max = 64u << 20, .cpu_milli = 1500, .max_tasks = 8}));
  EXPECT_EQ(read(t / "service/herd-1/web-3-1/memory.max"), "67108864");
  EXPECT_EQ(read(t / "service/herd-1/web-3-1/cpu.max"), "150000 100000");
  EXPECT_EQ(read(t / "service/herd-1/web-3-1/pids.max"), "8");

  t.write("service/herd-1/web-3-1/memory.current", "157286400\n");
  t.write("service/herd-1/web-3-1/memory.stat", "anon 150000000\ninactive_file 1048576\n");
  t.write("service/herd-1/web-3-1/cpu.stat", "usage_usec 1234567\nuser_usec 1000000\n");
  t.write("service/herd-1/web-3-1/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
  auto u = v2.usage("web-3-1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->memory_bytes, 157286400u - 1048576u);
  EXPECT_EQ(u->cpu_usec, 1234567u);
  EXPECT_EQ(v2.oom_kills("web-3-1"), 1u);

  // cgroup.kill where the kernel has it.
  t.write("service/herd-1/web-3-1/cgroup.kill", "");
  v2.kill_all("web-3-1");
  EXPECT_EQ(read(t / "service/herd-1/web-3-1/cgroup.kill"), "1");
}

TEST(CgroupV2, WithoutDelegatedControllersItIsOffWithTheReason) {
  test::TempDir t;
  t.write("user/cgroup.controllers", "io\n");
  CgroupV2 v2(t / "user", "herd-1");
  Status s = v2.init();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("no memory, cpu or pids controller"), std::string::npos)
      << s.error().message();
}

TEST(CgroupTree, NamesEachSpawnAnewAndRemovesReleasedGroups) {
  test::TempDir t;
  auto backend = std::make_unique<CgroupV1>(std::map<std::string, std::string>{{"pids", t / "h"}});
  ASSERT_TRUE(backend->init());
  CgroupTree tree(std::move(backend));
  EXPECT_TRUE(tree.enabled());
  auto a = tree.create("api-0", {});
  auto b = tree.create("api-0", {});
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  tree.release(*a);
  tree.release(*b);
  EXPECT_TRUE(tree.backend().groups().empty());
  tree.remove_all(100);
  struct stat st {};
  EXPECT_NE(::stat((t / "h").c_str(), &st), 0);  // herd's own group too
  CgroupTree off("turned off by HERD_CGROUPS=off");
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.to_json()["reason"], "turned off by HERD_CGROUPS=off");
}

}  // namespace
}  // namespace herd::manager
