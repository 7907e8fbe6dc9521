// CgroupMeter: an instance's cgroup read once a second through kept descriptors, with
// memory.stat (the inactive file cache) read only when it is due, on fake v1 and v2 trees.
#include "daemon/cgroup/cgroup_meter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "daemon/cgroup/cgroup_v1.h"
#include "daemon/cgroup/cgroup_v2.h"
#include "support/temp_dir.h"

namespace herd::manager {
namespace {

constexpr std::uint64_t kMiB = 1u << 20;

struct V1Tree {
  test::TempDir t;
  CgroupV1 v1{{{"memory", t / "memory/herd"}, {"cpuacct", t / "cpuacct/herd"}}};

  V1Tree() {
    t.write("memory/herd/api-0-0/memory.usage_in_bytes", "209715200\n");
    t.write("memory/herd/api-0-0/memory.stat", "cache 0\ntotal_inactive_file 10485760\n");
    t.write("cpuacct/herd/api-0-0/cpuacct.usage", "2500000000\n");
  }
  void usage(std::uint64_t bytes) {
    t.write("memory/herd/api-0-0/memory.usage_in_bytes", std::to_string(bytes) + "\n");
  }
  void inactive(std::uint64_t bytes) {
    t.write("memory/herd/api-0-0/memory.stat",
            "cache 0\ntotal_inactive_file " + std::to_string(bytes) + "\n");
  }
};

TEST(CgroupMeter, ReadsTheUsageAtEverySampleAndMemoryStatWhenItIsDue) {
  V1Tree tree;
  CgroupMeter meter(tree.v1.meter_files("api-0-0"));
  auto u = meter.read(1000);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->memory_bytes, 200 * kMiB - 10 * kMiB);
  EXPECT_EQ(u->cpu_usec, 2500000u);
  EXPECT_EQ(meter.stat_reads(), 1u);

  // A second later: the CPU time is read anew; the usage did not move, so memory.stat is not
  // read (its new value is not seen yet).
  tree.t.write("cpuacct/herd/api-0-0/cpuacct.usage", "3500000000\n");
  tree.inactive(20 * kMiB);
  u = meter.read(2000);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->cpu_usec, 3500000u);
  EXPECT_EQ(u->memory_bytes, 190 * kMiB);
  EXPECT_EQ(meter.stat_reads(), 1u);

  // kStatEveryMs after its last read, memory.stat is read again.
  u = meter.read(1000 + CgroupMeter::kStatEveryMs);
  EXPECT_EQ(u->memory_bytes, 180 * kMiB);
  EXPECT_EQ(meter.stat_reads(), 2u);

  // A usage that moves by at most kStatMovedBytes: read from the kept descriptor, the cache
  // figure kept.
  tree.usage(200 * kMiB + CgroupMeter::kStatMovedBytes);
  u = meter.read(12000);
  EXPECT_EQ(u->memory_bytes, 180 * kMiB + CgroupMeter::kStatMovedBytes);
  EXPECT_EQ(meter.stat_reads(), 2u);
  // Beyond it: memory.stat at once.
  tree.usage(300 * kMiB);
  tree.inactive(50 * kMiB);
  u = meter.read(13000);
  EXPECT_EQ(u->memory_bytes, 250 * kMiB);
  EXPECT_EQ(meter.stat_reads(), 3u);
}

TEST(CgroupMeter, AFigureAboveTheRestartLimitIsMadeOfFreshReadsOnly) {
  V1Tree tree;
  constexpr std::uint64_t kLimit = 188 * kMiB + 512 * 1024;
  tree.inactive(12 * kMiB);
  CgroupMeter meter(tree.v1.meter_files("api-0-0"));
  auto u = meter.read(1000, kLimit);
  EXPECT_EQ(u->memory_bytes, 188 * kMiB);  // under the limit
  // The usage grew by less than kStatMovedBytes while more of it became inactive cache: with
  // the old cache figure the instance would be over its limit; memory.stat is read before
  // saying so, and it is not.
  tree.usage(200 * kMiB + 900 * 1024);
  tree.inactive(13 * kMiB);
  u = meter.read(2000, kLimit);
  EXPECT_EQ(meter.stat_reads(), 2u);
  EXPECT_EQ(u->memory_bytes, 187 * kMiB + 900 * 1024);
  // Without a limit the same sample keeps the cache figure until it is due.
  CgroupMeter unlimited(tree.v1.meter_files("api-0-0"));
  ASSERT_TRUE(unlimited.read(1000));
  tree.inactive(14 * kMiB);
  u = unlimited.read(2000);
  EXPECT_EQ(unlimited.stat_reads(), 1u);
  EXPECT_EQ(u->memory_bytes, 187 * kMiB + 900 * 1024);
}

TEST(CgroupMeter, KeepsTwoDescriptorsAndClosesThemWithIt) {
  V1Tree tree;
  std::size_t before = KeptFile::held();
  {
    CgroupMeter meter(tree.v1.meter_files("api-0-0"));
    EXPECT_EQ(KeptFile::held(), before);  // nothing opened before the first sample
    ASSERT_TRUE(meter.read(1000));
    EXPECT_EQ(KeptFile::held(), before + 2);  // usage_in_bytes and cpuacct.usage
    ASSERT_TRUE(meter.read(2000));
    EXPECT_EQ(KeptFile::held(), before + 2);
  }
  EXPECT_EQ(KeptFile::held(), before);
}

TEST(CgroupMeter, AGroupThatCannotBeReadIsNothing) {
  test::TempDir t;
  CgroupV1 v1({{"memory", t / "memory/herd"}, {"cpuacct", t / "cpuacct/herd"}});
  CgroupMeter meter(v1.meter_files("gone-0-0"));
  EXPECT_FALSE(meter.read(1000));
}

TEST(CgroupMeter, V2ReadsMemoryCurrentAndCpuStat) {
  test::TempDir t;
  t.write("service/cgroup.controllers", "cpu memory pids\n");
  t.write("service/cgroup.subtree_control", "");
  CgroupV2 v2(t / "service", "herd-1");
  ASSERT_TRUE(v2.init());
  ASSERT_TRUE(v2.create("web-3-1", {}));
  t.write("service/herd-1/web-3-1/memory.current", "157286400\n");
  t.write("service/herd-1/web-3-1/memory.stat", "anon 150000000\ninactive_file 1048576\n");
  t.write("service/herd-1/web-3-1/cpu.stat", "usage_usec 1234567\nuser_usec 1000000\n");
  CgroupMeter meter(v2.meter_files("web-3-1"));
  auto u = meter.read(1000);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->memory_bytes, 157286400u - 1048576u);
  EXPECT_EQ(u->cpu_usec, 1234567u);
  t.write("service/herd-1/web-3-1/cpu.stat", "usage_usec 2234567\nuser_usec 2000000\n");
  u = meter.read(2000);
  EXPECT_EQ(u->cpu_usec, 2234567u);
  EXPECT_EQ(meter.stat_reads(), 1u);
}

}  // namespace
}  // namespace herd::manager
