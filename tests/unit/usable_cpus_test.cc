// usable_cpus: the quota files of cgroup v1 and v2, how /proc/self/cgroup and mountinfo lead to
// the directories that hold them (nested cgroups, containers, hybrid hosts), and the minimum
// with the affinity mask. Tables of files, no real cgroup.
#include "base/usable_cpus.h"

#include <gtest/gtest.h>

#include <map>

namespace herd::manager {
namespace {

TEST(UsableCpus, CgroupV2CpuMax) {
  struct Case {
    const char* text;
    std::optional<int> want;
  } cases[] = {
      {"max 100000\n", std::nullopt},
      {"max\n", std::nullopt},
      {"50000 100000\n", 1},
      {"100000 100000\n", 1},
      {"100001 100000\n", 2},
      {"150000 100000", 2},
      {"400000 100000\n", 4},
      {"1000 1000\n", 1},
      {"200000\n", 2},
      {"", std::nullopt},
      {"abc 100000", std::nullopt},
      {"-1 100000", std::nullopt},
      {"50000 0", std::nullopt},
      {"50000 x", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(cpu_max_limit(c.text), c.want) << "'" << c.text << "'";
}

TEST(UsableCpus, CgroupV1CfsQuota) {
  struct Case {
    const char* quota;
    const char* period;
    std::optional<int> want;
  } cases[] = {
      {"-1\n", "100000\n", std::nullopt}, {"100000\n", "100000\n", 1},  {"50000\n", "100000\n", 1},
      {"250000\n", "100000\n", 3},        {"200000", "100000", 2},      {"1000\n", "100000\n", 1},
      {"x", "100000", std::nullopt},      {"100000", "", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(cfs_quota_limit(c.quota, c.period), c.want) << c.quota << " / " << c.period;
  }
}

// A host like this project's test machine: v1 controllers under /sys/fs/cgroup/<name>, an empty
// v2 hierarchy at /sys/fs/cgroup/unified.
constexpr const char* kHybridMounts =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// systemd's v1 layout: cpu and cpuacct in one hierarchy, optional fields before the dash.
constexpr const char* kJoinedMounts =
    "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "26 24 0:23 / /sys/fs/cgroup/cpuset rw,nosuid shared:10 - cgroup cgroup rw,cpuset\n";

constexpr const char* kV2Mounts =
    "22 1 0:5 / /proc rw - proc proc rw\n"
    "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

TEST(UsableCpus, DirectoriesFromProcSelfCgroupAndMountinfo) {
  using Dirs = std::vector<CgroupDir>;
  // v1 cpu, nested: the cgroup and every ancestor up to the mount point.
  EXPECT_EQ(
      cpu_cgroup_dirs("4:memory:/m\n3:cpuset:/\n1:cpu:/herd-test-1/inner\n0::/\n", kHybridMounts),
      (Dirs{{false, "/sys/fs/cgroup/cpu/herd-test-1/inner"},
            {false, "/sys/fs/cgroup/cpu/herd-test-1"},
            {false, "/sys/fs/cgroup/cpu"},
            {true, "/sys/fs/cgroup/unified"}}));
  // "cpu" is a whole controller name: cpuacct and cpuset alone are not it.
  EXPECT_EQ(cpu_cgroup_dirs("2:cpuacct:/a\n3:cpuset:/b\n", kHybridMounts), Dirs{});
  EXPECT_EQ(cpu_cgroup_dirs("5:cpu,cpuacct:/system.slice/web.service\n", kJoinedMounts),
            (Dirs{{false, "/sys/fs/cgroup/cpu,cpuacct/system.slice/web.service"},
                  {false, "/sys/fs/cgroup/cpu,cpuacct/system.slice"},
                  {false, "/sys/fs/cgroup/cpu,cpuacct"}}));
  // Pure v2.
  EXPECT_EQ(cpu_cgroup_dirs("0::/user.slice/u.scope\n", kV2Mounts),
            (Dirs{{true, "/sys/fs/cgroup/user.slice/u.scope"},
                  {true, "/sys/fs/cgroup/user.slice"},
                  {true, "/sys/fs/cgroup"}}));
  // A container with a cgroup namespace: its cgroup is "/", the mount point holds its limit.
  EXPECT_EQ(cpu_cgroup_dirs("0::/\n", kV2Mounts), (Dirs{{true, "/sys/fs/cgroup"}}));
  // A container without one: the mount's root is the container's cgroup, bind-mounted.
  EXPECT_EQ(cpu_cgroup_dirs("0::/docker/abc\n",
                            "30 22 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n"),
            (Dirs{{true, "/sys/fs/cgroup"}}));
  // A path outside the mount's root: the mount point is the closest we can read.
  EXPECT_EQ(cpu_cgroup_dirs("0::/elsewhere\n",
                            "30 22 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n"),
            (Dirs{{true, "/sys/fs/cgroup"}}));
  // "/docker/abcd" is not under the root "/docker/abc".
  EXPECT_EQ(cpu_cgroup_dirs("0::/docker/abcd\n",
                            "30 22 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n"),
            (Dirs{{true, "/sys/fs/cgroup"}}));
  // An escaped space in a mount point.
  EXPECT_EQ(cpu_cgroup_dirs("0::/a\n", "30 22 0:26 / /mnt/c\\040g rw - cgroup2 cgroup2 rw\n"),
            (Dirs{{true, "/mnt/c g/a"}, {true, "/mnt/c g"}}));
  // Nothing mounted, or garbage.
  EXPECT_EQ(cpu_cgroup_dirs("0::/a\n", ""), Dirs{});
  EXPECT_EQ(cpu_cgroup_dirs("garbage", "more garbage\n - \n"), Dirs{});
}

TEST(UsableCpus, TheTightestQuotaOfTheCgroupAndItsAncestors) {
  std::map<std::string, std::string> files;
  auto read = [&](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  const char* cgroup = "1:cpu:/outer/inner\n0::/\n";
  const std::string v1 = "/sys/fs/cgroup/cpu";
  // No file at all (the v2 hierarchy of a hybrid host has no cpu.max either): no limit.
  EXPECT_EQ(cgroup_cpu_limit(cgroup, kHybridMounts, read), std::nullopt);
  files[v1 + "/cpu.cfs_quota_us"] = "-1\n";
  files[v1 + "/cpu.cfs_period_us"] = "100000\n";
  files[v1 + "/outer/inner/cpu.cfs_quota_us"] = "-1\n";
  files[v1 + "/outer/inner/cpu.cfs_period_us"] = "100000\n";
  files[v1 + "/outer/cpu.cfs_quota_us"] = "-1\n";
  files[v1 + "/outer/cpu.cfs_period_us"] = "100000\n";
  EXPECT_EQ(cgroup_cpu_limit(cgroup, kHybridMounts, read), std::nullopt);
  // The parent's quota bounds the child that has none.
  files[v1 + "/outer/cpu.cfs_quota_us"] = "100000\n";
  EXPECT_EQ(cgroup_cpu_limit(cgroup, kHybridMounts, read), 1);
  // The tightest one wins, wherever it is.
  files[v1 + "/outer/cpu.cfs_quota_us"] = "300000\n";
  files[v1 + "/outer/inner/cpu.cfs_quota_us"] = "150000\n";
  EXPECT_EQ(cgroup_cpu_limit(cgroup, kHybridMounts, read), 2);
  // v2, a container's root.
  files["/sys/fs/cgroup/cpu.max"] = "50000 100000\n";
  EXPECT_EQ(cgroup_cpu_limit("0::/\n", kV2Mounts, read), 1);
  files["/sys/fs/cgroup/cpu.max"] = "max 100000\n";
  EXPECT_EQ(cgroup_cpu_limit("0::/\n", kV2Mounts, read), std::nullopt);
}

TEST(UsableCpus, TheFewestOfAffinityAndQuota) {
  EXPECT_EQ(usable_cpus_from(48, 2), 2);            // PM2 #4347: 48 cores, a 2-CPU limit
  EXPECT_EQ(usable_cpus_from(1, 4), 1);             // taskset -c 0
  EXPECT_EQ(usable_cpus_from(8, std::nullopt), 8);  // no quota
  EXPECT_EQ(usable_cpus_from(0, 3), 3);             // affinity unknown
  EXPECT_EQ(usable_cpus_from(0, std::nullopt), 1);
}

TEST(UsableCpus, ThisProcessHasAtLeastOne) {
  EXPECT_GE(affinity_cpus(), 1);
  int n = usable_cpus();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, affinity_cpus());
}

}  // namespace
}  // namespace herd::manager
