// `herd update` (manager/takeover.h): the daemon replaced by another herd binary in place, under
// load, without restarting any app; the sampler's kept files opened again by the new daemon (the
// old descriptors gone with the exec); and a file that is not herd leaves the old daemon
// running.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

class UpdateTest : public HerdTest {
 protected:
  std::string build_bin(const std::string& name) const {
    return herd_bin_.substr(0, herd_bin_.rfind('/')) + "/" + name;
  }

  // A copy of herd installed under $HERD_HOME/prefix, as a new version would be: bin/herd and
  // the files it injects in lib/herd.
  std::string install_copy() {
    std::string prefix = path("prefix");
    ::mkdir(prefix.c_str(), 0755);
    ::mkdir((prefix + "/bin").c_str(), 0755);
    ::mkdir((prefix + "/lib").c_str(), 0755);
    std::string lib = herd_bin_.substr(0, herd_bin_.rfind('/'));
    lib = lib.substr(0, lib.rfind('/')) + "/lib/herd";
    EXPECT_EQ(::symlink(lib.c_str(), (prefix + "/lib/herd").c_str()), 0);
    std::string copy = prefix + "/bin/herd";
    write_file(copy, read_file(herd_bin_), 0755);
    return copy;
  }

  // A port the kernel says is free.
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof(a);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }
};

TEST_F(UpdateTest, UpdateUnderLoadKeepsEveryProcessAndFailsNoRequest) {
  std::string hello = build_bin("hello");
  if (!file_exists(hello)) GTEST_SKIP() << hello << " is not built";
  int port = free_port();
  std::string at = "127.0.0.1:" + std::to_string(port);
  ASSERT_EQ(herd({"start", hello, "-n", "web", "-i", "2", "--listen", at}).exit_code, 0);
  ASSERT_EQ(herd({"start", write_script("sleeper", "exec sleep 1000\n"), "-n", "side"}).exit_code,
            0);
  Json before;
  ASSERT_TRUE(wait_status("web", "online", 2, kWaitTimeout, &before));
  ASSERT_TRUE(wait_status("side", "online", 1, kWaitTimeout, &before));
  pid_t daemon = daemon_pid();
  std::string copy = install_copy();

  Traffic fresh(port);
  Traffic keep_alive(port, "Hello World!", Traffic::Mode::kKeepAlive);
  ASSERT_TRUE(fresh.wait_more(50)) << fresh.failures();
  CommandResult r = herd({"update", "--binary", copy});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("herd daemon updated"));
  EXPECT_THAT(r.out, HasSubstr("3 app process(es) kept"));
  ASSERT_TRUE(fresh.wait_more(50)) << fresh.failures();
  ASSERT_TRUE(keep_alive.wait_more(50)) << keep_alive.failures();
  fresh.stop();
  keep_alive.stop();
  EXPECT_EQ(fresh.failed(), 0) << fresh.failures();
  EXPECT_EQ(keep_alive.failed(), 0) << keep_alive.failures();

  // The same daemon process, now running the new binary; every app process and count kept.
  EXPECT_EQ(daemon_pid(), daemon);
  char exe[4096];
  ssize_t n = ::readlink(("/proc/" + std::to_string(daemon) + "/exe").c_str(), exe, sizeof(exe));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(exe, static_cast<std::size_t>(n)), copy);
  CommandResult ping = herd({"ping"});
  EXPECT_THAT(ping.out, HasSubstr("pong (daemon pid " + std::to_string(daemon) + ", herd "));
  EXPECT_THAT(ping.out, HasSubstr("updated 1 time(s) in place, now running " + copy));
  Json after = jlist();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t k = 0; k < before.size(); ++k) {
    EXPECT_EQ(after[k]["pid"], before[k]["pid"]);
    EXPECT_EQ(after[k]["pm2_env"]["status"], "online");
    EXPECT_EQ(after[k]["pm2_env"]["restart_time"], before[k]["pm2_env"]["restart_time"]);
    EXPECT_EQ(after[k]["pm2_env"]["created_at"], before[k]["pm2_env"]["created_at"]);
  }
  // It still supervises them: a killed instance is replaced, a reload works.
  ASSERT_EQ(::kill(after[0]["pid"].get<pid_t>(), SIGKILL), 0);
  ASSERT_TRUE(wait_jlist([&](const Json& l) {
    auto web = instances(l, "web");
    return web.size() == 2 && web[0]["pid"] != after[0]["pid"] &&
           web[0]["pm2_env"]["status"] == "online";
  }));
  EXPECT_EQ(herd({"reload", "web"}).exit_code, 0);
  // And a new app still gets herd's bind library from the new binary's prefix.
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("updated from herd"));
  expect_no_zombies();
}

// A Node app's code metrics and heap snapshots go on after `herd update`: the new daemon knows
// the instance has herd's preload (docs/diagnostics.md).
TEST_F(UpdateTest, NodeDiagnosticsGoOnAfterUpdate) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  std::string app = path("idle.js");
  write_file(app, "setInterval(() => {}, 1000);\n");
  ASSERT_EQ(herd({"start", app, "-n", "idle"}).exit_code, 0);
  auto reports = [](const Json& l) {
    for (const auto& p : l) {
      if (p["name"] == "idle" && p["pm2_env"].contains("code_metrics")) return true;
    }
    return false;
  };
  ASSERT_TRUE(wait_jlist(reports));
  std::string copy = install_copy();
  CommandResult r = herd({"update", "--binary", copy});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_jlist(reports));  // a report received by the new daemon
  CommandResult h = herd({"heapdump", "idle", path("after.heapsnapshot")});
  EXPECT_EQ(h.exit_code, 0) << h;
  EXPECT_GT(file_size(path("after.heapsnapshot")), 0);
}

TEST_F(UpdateTest, AFileThatIsNotHerdLeavesTheDaemonRunning) {
  ASSERT_EQ(herd({"start", write_script("sleeper", "exec sleep 1000\n"), "-n", "side"}).exit_code,
            0);
  Json before;
  ASSERT_TRUE(wait_status("side", "online", 1, kWaitTimeout, &before));
  pid_t daemon = daemon_pid();
  std::string fake = write_script("not-herd", "echo hello\n");
  CommandResult r = herd({"update", "--binary", fake});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("is not a herd binary"));
  EXPECT_THAT(r.err, HasSubstr("the daemon keeps running"));
  CommandResult missing = herd({"update", "--binary", path("nothing-here")});
  EXPECT_NE(missing.exit_code, 0) << missing;
  EXPECT_EQ(daemon_pid(), daemon);
  EXPECT_EQ(instance(jlist(), "side")["pid"], instance(before, "side")["pid"]);
  EXPECT_THAT(herd({"ping"}).out, HasSubstr("pong"));
}

// The daemon's descriptors that are sampler files: a cgroup usage file, or the /proc/<pid>/stat
// of one of `pids`.
int sample_files(pid_t daemon, const Json& pids) {
  std::vector<std::string> tails = {"/memory.usage_in_bytes", "/memory.current", "/cpuacct.usage",
                                    "/cpu.stat"};
  for (const Json& p : pids) tails.push_back("/proc/" + std::to_string(p.get<int>()) + "/stat");
  std::string dir = "/proc/" + std::to_string(daemon) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    char target[4096];
    ssize_t len = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
    if (len <= 0) continue;
    std::string t(target, static_cast<std::size_t>(len));
    for (const std::string& tail : tails) {
      if (t.size() >= tail.size() && t.compare(t.size() - tail.size(), tail.size(), tail) == 0) {
        ++n;
        break;
      }
    }
  }
  ::closedir(d);
  return n;
}

TEST_F(UpdateTest, TheNewDaemonOpensTheSampleFilesAgainAndTheOldOnesAreGone) {
  CommandResult ping = herd({"ping"});
  ASSERT_EQ(ping.exit_code, 0) << ping;
  // In a cgroup an instance keeps two usage files, without one its process's stat.
  const int per_instance = ping.out.find("cgroups v") != std::string::npos ? 2 : 1;
  ASSERT_EQ(herd({"start", "/bin/sleep", "-n", "sampled", "-i", "3", "--", "1000"}).exit_code, 0);
  Json list;
  ASSERT_TRUE(wait_status("sampled", "online", 3, kWaitTimeout, &list));
  Json pids = Json::array();
  for (const Json& p : instances(list, "sampled")) pids.push_back(p["pid"]);
  pid_t daemon = daemon_pid();
  int n = 0;
  ASSERT_TRUE(wait_for([&] { return (n = sample_files(daemon, pids)) == 3 * per_instance; }))
      << n << " sample files before the update";

  CommandResult r = herd({"update", "--binary", install_copy()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(daemon_pid(), daemon);
  // Opened again at the new daemon's first samples: as many as before, not twice as many.
  EXPECT_TRUE(wait_for([&] { return (n = sample_files(daemon, pids)) == 3 * per_instance; }))
      << n << " sample files after the update";
  // And they are read: the figures move on (CPU time is cumulative; memory is never 0).
  EXPECT_TRUE(wait_jlist([](const Json& l) {
    for (const Json& p : l) {
      if (p["monit"]["memory"].get<std::uint64_t>() == 0) return false;
    }
    return l.size() == 3;
  }));
  EXPECT_EQ(sample_files(daemon, pids), 3 * per_instance);
}

}  // namespace
}  // namespace herd::e2e
