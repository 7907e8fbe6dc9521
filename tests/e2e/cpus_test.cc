// `-i max` counts the CPUs the daemon may use, not the host's: under `taskset -c 0` (an affinity
// the daemon inherits from the command that starts it) and in a cgroup v1 `cpu` controller
// limited to one CPU's quota, it runs 1 instance (and libherd's cluster, 1 worker). The cgroup test
// needs root and the v1 controller at /sys/fs/cgroup/cpu; it skips, saying so, without them.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr const char* kCpuController = "/sys/fs/cgroup/cpu";

bool write_text(const std::string& file, const std::string& text) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

std::string on_path(const std::string& program) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
    std::string p = std::string(dir) + "/" + program;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

class CpusTest : public HerdTest {
 protected:
  // Starts a sleeper with `-i max` and returns how many instances it got (-1 on failure). In
  // fork mode (-x): a sleeper never listens, which cluster mode would wait listen_timeout for.
  int max_instances(const std::string& name) {
    CommandResult r = herd({"start", write_script(name, "exec sleep 1000\n"), "-x", "-i", "max",
                            "--min-uptime", "100"});
    EXPECT_EQ(r.exit_code, 0) << r;
    if (r.exit_code != 0) return -1;
    return static_cast<int>(instances(jlist(), name).size());
  }
};

TEST_F(CpusTest, MaxUnderTasksetIsOneInstance) {
  std::string taskset = on_path("taskset");
  if (taskset.empty()) GTEST_SKIP() << "taskset (util-linux) is not installed";
  cpu_set_t mine;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(mine), &mine), 0);
  if (!CPU_ISSET(0, &mine)) GTEST_SKIP() << "CPU 0 is not in this test's affinity mask";
  // The first command starts the daemon (through the keeper) under taskset; every later command
  // runs as usual, so only what the daemon inherited can limit it.
  std::string herd = herd_bin_;
  herd_bin_ = write_script("herd-on-cpu0", "exec " + taskset + " -c 0 " + herd + " \"$@\"\n");
  CommandResult r = this->herd({"ping"});
  herd_bin_ = herd;
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_THAT(r.out, HasSubstr("just started"));
  pid_t daemon = daemon_pid();
  ASSERT_GT(daemon, 0);
  cpu_set_t its{};
  ASSERT_EQ(::sched_getaffinity(daemon, sizeof(its), &its), 0) << std::strerror(errno);
  EXPECT_EQ(CPU_COUNT(&its), 1);
  EXPECT_TRUE(CPU_ISSET(0, &its));

  EXPECT_EQ(max_instances("pinned"), 1);
  // `-i 0` means the same in PM2; `-i -1` would leave no instance on one CPU and is refused.
  ASSERT_EQ(this->herd({"delete", "pinned"}).exit_code, 0);
  r = this->herd({"start", path("pinned"), "-x", "-i", "0", "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(instances(jlist(), "pinned").size(), 1u);
  r = this->herd({"start", path("pinned"), "--name", "minus", "-i", "-1"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("leaves no instance on this machine with 1 CPU(s)"));
}

// /sys/fs/cgroup/cpu/herd-test-<pid>/ limited to one CPU (quota = period), the daemon in its
// child `inner`, which has no quota of its own: the parent's limit is what counts.
class CpuCgroupTest : public CpusTest {
 protected:
  void SetUp() override {
    std::string quota = std::string(kCpuController) + "/cpu.cfs_quota_us";
    if (::access(quota.c_str(), F_OK) != 0) {
      GTEST_SKIP() << "no cgroup v1 cpu controller at " << kCpuController
                   << " (cgroup v2 hosts: the unit tests read cpu.max tables)";
    }
    if (::geteuid() != 0)
      GTEST_SKIP() << "creating a cgroup under " << kCpuController << " needs root";
    outer_ = std::string(kCpuController) + "/herd-test-" + std::to_string(::getpid());
    if (::mkdir(outer_.c_str(), 0755) != 0 && errno != EEXIST) {
      int e = errno;
      outer_.clear();
      GTEST_SKIP() << "cannot create a cgroup under " << kCpuController << ": " << std::strerror(e);
    }
    inner_ = outer_ + "/inner";
    ASSERT_TRUE(::mkdir(inner_.c_str(), 0755) == 0 || errno == EEXIST) << std::strerror(errno);
    ASSERT_TRUE(write_text(outer_ + "/cpu.cfs_period_us", "100000"));
    ASSERT_TRUE(write_text(outer_ + "/cpu.cfs_quota_us", "100000")) << std::strerror(errno);
    CpusTest::SetUp();
  }

  // The processes die first (HerdTest::TearDown); what is left in the cgroups goes back to the
  // root one, and both are removed, whatever happened in the test.
  void TearDown() override {
    CpusTest::TearDown();
    for (const std::string& dir : {inner_, outer_}) {
      if (dir.empty()) continue;
      EXPECT_TRUE(wait_for([&] {
        std::istringstream procs(read_file(dir + "/cgroup.procs"));
        for (std::string pid; procs >> pid;) {
          write_text(std::string(kCpuController) + "/cgroup.procs", pid);
        }
        return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
      })) << "cannot remove "
          << dir << ": " << std::strerror(errno);
    }
  }

  std::string outer_;
  std::string inner_;
};

TEST_F(CpuCgroupTest, MaxInACgroupWithOneCpusQuotaIsOneInstance) {
  // The daemon is moved into the cgroup once it runs; herd's own cgroups (docs/resources.md)
  // would have been made under the one it started in, so it runs without them here.
  CommandResult r = herd({"ping"}, {{"HERD_CGROUPS", "off"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  pid_t daemon = daemon_pid();
  ASSERT_GT(daemon, 0);
  ASSERT_TRUE(write_text(inner_ + "/cgroup.procs", std::to_string(daemon)))
      << "moving the daemon into " << inner_ << ": " << std::strerror(errno);
  ASSERT_THAT(read_file("/proc/" + std::to_string(daemon) + "/cgroup"),
              HasSubstr(":cpu:/herd-test-" + std::to_string(::getpid()) + "/inner\n"));

  EXPECT_EQ(max_instances("quota"), 1);
  // The instance runs in the daemon's cgroup too.
  Json list = jlist();
  ASSERT_EQ(instances(list, "quota").size(), 1u);
  int pid = instances(list, "quota")[0]["pid"].get<int>();
  EXPECT_THAT(read_file("/proc/" + std::to_string(pid) + "/cgroup"), HasSubstr("/inner\n"));

  // libherd's own cluster counts the same way: `hello --workers auto` (no HERD_WORKERS) in the
  // same cgroup starts one worker, whatever the host's core count.
  std::string hello = herd_bin_.substr(0, herd_bin_.rfind('/')) + "/hello";
  r = herd({"start", hello, "-x", "--name", "auto", "--", "--port", "0", "--workers", "auto"},
           {{"HERD_WORKERS", ""}});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string log = path("logs/auto-error.log");
  ASSERT_TRUE(wait_for([&] { return contains(read_file(log), "listening on"); })) << read_file(log);
  EXPECT_THAT(read_file(log), HasSubstr(", 1 workers,"));
}

}  // namespace
}  // namespace herd::e2e
