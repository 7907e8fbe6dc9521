// What herd opens and what its apps inherit: no symlink is followed to a file herd writes or
// truncates, and an app gets exactly the descriptors herd means to pass.
#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// The descriptors of `pid` (from /proc/<pid>/fd), each with what it points at.
std::map<int, std::string> fds_of(pid_t pid) {
  std::map<int, std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[512] = {};
    std::string link = dir + "/" + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    out[std::atoi(e->d_name)] = n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?";
  }
  ::closedir(d);
  return out;
}

std::string describe(const std::map<int, std::string>& fds) {
  std::string s;
  for (const auto& [fd, what] : fds) s += std::to_string(fd) + " -> " + what + "\n";
  return s;
}

TEST_F(HerdTest, SymlinkAtLogPathIsNotFollowed) {
  std::string target = path("precious.txt");
  write_file(target, "precious\n");
  ASSERT_EQ(::mkdir(path("logs").c_str(), 0700) == 0 || errno == EEXIST, true);
  ASSERT_EQ(::symlink(target.c_str(), path("logs/sym-out.log").c_str()), 0);
  std::string user_log = path("user-out.log");
  ASSERT_EQ(::symlink(target.c_str(), user_log.c_str()), 0);

  std::string script = write_script("talk.sh", "echo spoken; echo spoken >&2; exec sleep 1000\n");
  // The app starts, but a log it cannot write is said at once, with exit 1 (output would be
  // lost otherwise).
  CommandResult r = herd({"start", script, "--name", "sym"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find(path("logs/sym-out.log") + " is a symbolic link"), std::string::npos) << r;
  r = herd({"start", script, "--name", "user", "-o", user_log});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find(user_log + " is a symbolic link"), std::string::npos) << r;
  ASSERT_TRUE(wait_status("sym", "online"));
  ASSERT_TRUE(wait_status("user", "online"));
  // herd.log says why each log cannot be opened.
  EXPECT_TRUE(wait_for([&] {
    std::string log = read_file(path("herd.log"));
    return log.find(path("logs/sym-out.log") + " is a symbolic link") != std::string::npos &&
           log.find(user_log + " is a symbolic link") != std::string::npos;
  })) << read_file(path("herd.log"));
  // The err logs, which are not symlinks, got their line: so the out lines were written (or
  // dropped) by now.
  EXPECT_TRUE(wait_for(
      [&] { return read_file(path("logs/sym-error.log")).find("spoken") != std::string::npos; }));
  EXPECT_NE(herd({"flush", "sym"}).exit_code, 0);
  herd({"flush", "user"});
  EXPECT_EQ(read_file(target), "precious\n");
  struct stat st;
  ASSERT_EQ(::lstat(path("logs/sym-out.log").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(HerdTest, SymlinkAtDumpTempPathIsNotFollowed) {
  std::string target = path("precious.txt");
  write_file(target, "precious\n");
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--name", "web"}).exit_code, 0);
  // Planted while the daemon runs (one that starts removes a leftover temp file).
  ASSERT_EQ(::symlink(target.c_str(), path("dump.json.tmp").c_str()), 0);
  ASSERT_EQ(::symlink(target.c_str(), path("dump.json.bak.tmp").c_str()), 0);
  CommandResult r = herd({"save"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"save"});  // now with a dump.json to keep as .bak
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_file(target), "precious\n");
  EXPECT_THAT(read_file(path("dump.json")), HasSubstr("\"web\""));
  EXPECT_THAT(read_file(path("dump.json.bak")), HasSubstr("\"web\""));
}

TEST_F(HerdTest, NoDescriptorLeaksIntoApps) {
  // This process holds a stray descriptor without CLOEXEC: the herd CLI inherits it, and so
  // does the daemon the CLI starts.
  int stray = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(stray, 3);
  std::string script = write_script("wait.sh", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "--name", "fork"});
  ::close(stray);
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("fork", "online", 1, kWaitTimeout, &list));
  pid_t pid = instance(list, "fork").value("pid", 0);
  ASSERT_GT(pid, 0);
  auto fds = fds_of(pid);
  EXPECT_EQ(fds.size(), 3u) << describe(fds);
  EXPECT_EQ(fds.count(0) + fds.count(1) + fds.count(2), 3u) << describe(fds);
  // The daemon itself kept nothing of its starter's either (beyond its own descriptors, all
  // opened CLOEXEC, which is what the app's list above shows).

  // A cluster app gets its listen socket as fd 3, herd's bind channel as fd 4 and its accept
  // counter as fd 5 (docs/cluster-mode.md), and nothing else.
  r = herd({"start", script, "--name", "cluster", "--listen", "127.0.0.1:0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("cluster", "online", 1, kWaitTimeout, &list));
  pid = instance(list, "cluster").value("pid", 0);
  ASSERT_GT(pid, 0);
  fds = fds_of(pid);
  EXPECT_EQ(fds.size(), 6u) << describe(fds);
  ASSERT_TRUE(fds.count(3) && fds.count(4) && fds.count(5)) << describe(fds);
  EXPECT_THAT(fds[3], HasSubstr("socket:")) << describe(fds);
  EXPECT_THAT(fds[4], HasSubstr("socket:")) << describe(fds);
  EXPECT_THAT(fds[5], HasSubstr("memfd:herd-accepts")) << describe(fds);

  // Without herd's bind library, only the listen socket.
  r = herd({"start", script, "--name", "plain", "--listen", "127.0.0.1:0", "--no-inject"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("plain", "online", 1, kWaitTimeout, &list));
  pid = instance(list, "plain").value("pid", 0);
  ASSERT_GT(pid, 0);
  fds = fds_of(pid);
  EXPECT_EQ(fds.size(), 4u) << describe(fds);
  ASSERT_TRUE(fds.count(3)) << describe(fds);
}

// The soft "Max open files" limit of `pid`, from /proc/<pid>/limits (0 when unreadable).
unsigned long long soft_open_files(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Max open files")) continue;
    return std::strtoull(line.c_str() + std::string_view("Max open files").size(), nullptr, 10);
  }
  return 0;
}

// Started under the usual soft limit (here 256), the daemon raises its own to the hard limit (it
// holds a few descriptors per instance), and gives its apps the limit it was started with, also
// after `herd update` re-executed it with the raised one in force.
TEST_F(HerdTest, TheDaemonRaisesItsDescriptorLimitAndItsAppsKeepTheOriginal) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max <= 512) {
    GTEST_SKIP() << "the hard RLIMIT_NOFILE (" << saved.rlim_max << ") leaves nothing to raise";
  }
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::string script = write_script("wait.sh", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "--name", "app"});  // starts the daemon, at 256
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("app", "online", 1, kWaitTimeout, &list));
  unsigned long long expected = saved.rlim_max == RLIM_INFINITY
                                    ? (1ULL << 20)
                                    : std::min<unsigned long long>(saved.rlim_max, 1ULL << 20);
  pid_t daemon = daemon_pid();
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(soft_open_files(daemon), expected);
  EXPECT_EQ(soft_open_files(instance(list, "app").value("pid", 0)), 256u);

  r = herd({"update", "--binary", herd_bin_});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(daemon_pid(), daemon);
  ASSERT_EQ(herd({"restart", "app"}).exit_code, 0);
  ASSERT_TRUE(wait_status("app", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(soft_open_files(daemon), expected);
  EXPECT_EQ(soft_open_files(instance(list, "app").value("pid", 0)), 256u);
}

}  // namespace
}  // namespace herd::e2e
