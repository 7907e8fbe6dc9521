// The sampler's kept files (docs/resources.md, "Whole-tree measurement") through the real
// daemon: each instance is read through descriptors the daemon keeps open (in a cgroup its two
// usage files, without one its process's /proc/<pid>/stat), an app started afterwards inherits
// none of them, and `delete all` closes every one.
//
// The cgroup test skips, saying why, where the daemon cannot create cgroups.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr int kInstances = 5;

// Where each descriptor of `pid` points (readlink of /proc/<pid>/fd/*).
std::vector<std::string> fd_targets(pid_t pid) {
  std::vector<std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[4096];
    ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
    if (n > 0) out.emplace_back(target, static_cast<std::size_t>(n));
  }
  ::closedir(d);
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A sampler file: a cgroup usage file or a process's stat.
bool is_sample_file(const std::string& target) {
  for (const char* tail : {"/memory.usage_in_bytes", "/memory.current", "/cpuacct.usage",
                           "/cpu.stat", "/stat", "/ns_last_pid"}) {
    if (ends_with(target, tail)) return true;
  }
  return false;
}

class SampleFilesTest : public HerdTest {
 protected:
  // What `herd ping` (which starts the daemon with `env`) says of cgroups.
  std::string cgroups_line(const EnvVars& env) {
    CommandResult r = herd({"ping"}, env);
    EXPECT_EQ(r.exit_code, 0) << r;
    std::size_t at = r.out.find("cgroups");
    return at == std::string::npos ? "(no cgroups line)"
                                   : r.out.substr(at, r.out.find('\n', at) - at);
  }

  Json start_sleepers(const std::string& name, int instances) {
    Json apps = Json::array({{{"name", name},
                              {"script", "/bin/sleep"},
                              {"args", "3600"},
                              {"exec_mode", "fork"},
                              {"instances", instances}}});
    write_file(path(name + ".json"), Json{{"apps", apps}}.dump());
    CommandResult r = herd({"start", path(name + ".json")});
    EXPECT_EQ(r.exit_code, 0) << r;
    Json list;
    EXPECT_TRUE(wait_status(name, "online", static_cast<std::size_t>(instances), 20s, &list));
    return instances_pids(list, name);
  }

  static Json instances_pids(const Json& list, const std::string& name) {
    Json pids = Json::array();
    for (const Json& p : instances(list, name)) pids.push_back(p["pid"].get<int>());
    return pids;
  }

  // Counts the daemon's descriptors whose target ends with one of `tails`.
  int kept(const std::vector<std::string>& tails) {
    int n = 0;
    for (const std::string& t : fd_targets(daemon_pid())) {
      for (const std::string& tail : tails) {
        if (ends_with(t, tail)) {
          ++n;
          break;
        }
      }
    }
    return n;
  }

  // The common part: `kept_per_instance` of `tails` held for the app's instances, none in an app
  // started after them, all closed after `delete all`.
  void expect_kept_and_closed(
      const std::function<std::vector<std::string>(const Json& pids)>& tails,
      int kept_per_instance) {
    pid_t daemon = daemon_pid();
    ASSERT_GT(daemon, 0);
    const std::size_t idle_fds = fd_targets(daemon).size();
    Json pids = start_sleepers("sampled", kInstances);
    ASSERT_EQ(pids.size(), static_cast<std::size_t>(kInstances));
    std::vector<std::string> want = tails(pids);
    int n = 0;
    EXPECT_TRUE(wait_for(
        [&] {
          n = kept(want);
          return n == kInstances * kept_per_instance;
        },
        20s))
        << n << " sample files kept for " << kInstances << " instances";
    // The figures still come: every instance has its memory.
    EXPECT_TRUE(wait_jlist(
        [](const Json& l) {
          for (const Json& p : l) {
            if (p["monit"]["memory"].get<std::uint64_t>() == 0) return false;
          }
          return !l.empty();
        },
        20s));

    // An app spawned while the daemon holds them inherits none.
    Json late = start_sleepers("late", 1);
    ASSERT_EQ(late.size(), 1u);
    for (const std::string& t : fd_targets(late[0].get<int>())) {
      EXPECT_FALSE(is_sample_file(t)) << "the app inherited the daemon's " << t;
    }

    CommandResult r = herd({"delete", "all"});
    ASSERT_EQ(r.exit_code, 0) << r;
    std::size_t fds = 0;
    EXPECT_TRUE(wait_for(
        [&] {
          fds = fd_targets(daemon).size();
          return fds <= idle_fds;
        },
        20s))
        << "the daemon holds " << fds << " descriptors after delete all, " << idle_fds << " idle";
    EXPECT_EQ(kept(want), 0);
  }
};

TEST_F(SampleFilesTest, WithoutCgroupsEachProcessIsReadThroughOneKeptStat) {
  ASSERT_EQ(cgroups_line({{"HERD_CGROUPS", "off"}}), "cgroups off: turned off by HERD_CGROUPS=off");
  expect_kept_and_closed(
      [](const Json& pids) {
        std::vector<std::string> tails;
        for (const Json& p : pids)
          tails.push_back("/proc/" + std::to_string(p.get<int>()) + "/stat");
        return tails;
      },
      1);
}

TEST_F(SampleFilesTest, InACgroupEachInstanceKeepsItsTwoUsageFiles) {
  std::string line = cgroups_line({});
  if (line.rfind("cgroups v", 0) != 0) GTEST_SKIP() << line;
  expect_kept_and_closed(
      [](const Json&) {
        return std::vector<std::string>{"/memory.usage_in_bytes", "/memory.current",
                                        "/cpuacct.usage", "/cpu.stat"};
      },
      2);
}

}  // namespace
}  // namespace herd::e2e
