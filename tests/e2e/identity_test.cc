// Identity beyond PM2's keys (pm2_keys_test.cc has UserRunsTheAppAsThatAccount): an app run as
// an unprivileged account serves on a port below 1024 that the daemon bound for it, as with
// systemd's socket activation; a team home (chown svc:team, chmod 2770) lets the team's members
// control a daemon run by the service account, never a root daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"
#include "e2e/process.h"
#include "e2e/traffic.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Answers each connection on the socket herd passed as fd 3 with "uid <its uid>", after writing
// "listening" to $HERD_E2E_FILE. (No READY=1: the daemon's notify socket is in its private
// HERD_HOME, which another account cannot reach.)
bool answer_uid = test::register_role("answer_uid", [](int, char**) {
  const char* file = std::getenv(kFileVar);
  if (file == nullptr || std::getenv("LISTEN_FDS") == nullptr) return 2;
  write_file(file, "listening");
  std::string answer = "uid " + std::to_string(::getuid()) + "\n";
  for (;;) {
    pollfd p{3, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return 3;
    int c = ::accept4(3, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    [[maybe_unused]] ssize_t n = ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(c);
  }
});

// "Uid:\t65534\t65534\t65534\t65534" -> "65534" (the real uid).
std::string status_field(pid_t pid, const std::string& field) {
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("\n" + field + ":\t");
  if (at == std::string::npos) return "";
  at += field.size() + 3;
  return status.substr(at, status.find_first_of("\t\n", at) - at);
}

TEST_F(HerdTest, AnAppRunAsNobodyServesOnPort80ThatTheDaemonBound) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: only a root daemon runs apps as another user";
  if (!contains(read_file("/etc/passwd"), "\nnobody:")) GTEST_SKIP() << "no user nobody";
  // A folder nobody may write its report into.
  test::TempDir shared;
  ASSERT_EQ(::chmod(shared.path().c_str(), 0777), 0);
  std::string report = shared.path() + "/activation";
  CommandResult r =
      herd({"start", test_binary(), "-n", "web80", "--listen", "127.0.0.1:80", "--user", "nobody"},
           {{kRoleVar, "answer_uid"}, {kFileVar, report}});
  if (r.exit_code != 0 && contains(r.err, "Address already in use")) {
    GTEST_SKIP() << "port 80 is taken on this machine: " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("web80", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  Json inst = instance(list, "web80");
  pid_t pid = inst["pid"];
  std::string nobody = std::to_string(inst["pm2_env"]["uid"].get<int>());
  EXPECT_NE(nobody, "0");
  EXPECT_EQ(status_field(pid, "Uid"), nobody);
  ASSERT_TRUE(wait_for([&] { return read_file(report) == "listening"; }));
  std::string error;
  EXPECT_EQ(exchange(80, "", kWaitTimeout, &error), "uid " + nobody + "\n") << error;
}

class TeamHomeTest : public HerdTest {
 protected:
  // Runs herd as another account through setpriv(1): `ids` are setpriv's options ("--reuid=1",
  // ...; none: as root), HERD_HOME is `home`.
  CommandResult herd_as(const std::vector<std::string>& ids, const std::string& home,
                        const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/setpriv"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    argv.push_back(herd_bin_);
    argv.insert(argv.end(), args.begin(), args.end());
    const char* path_env = std::getenv("PATH");
    Process p;
    EXPECT_TRUE(p.spawn(argv, {"HERD_HOME=" + home,
                               std::string("PATH=") + (path_env ? path_env : "/usr/bin:/bin")}));
    if (!p.wait_exit(30s)) p.signal(SIGKILL);
    (void)p.wait_exit(10s);
    return p.result();
  }
  // The daemons of the team homes, stopped whatever happened (by root, which any daemon lets in).
  void TearDown() override {
    for (const std::string& home : homes_) {
      (void)herd_as({}, home, {"kill"});
      for (const char* file : {"/keeper.pid", "/herd.pid"}) {
        if (pid_t pid = std::atoi(read_file(home + file).c_str()); pid > 0) ::kill(pid, SIGKILL);
      }
    }
    HerdTest::TearDown();
  }
  // A team home owned by uid:gid, mode 2770.
  std::string team_home(const std::string& name, uid_t uid, gid_t gid) {
    std::string dir = base_.path() + "/" + name;
    EXPECT_EQ(::mkdir(dir.c_str(), 0700), 0);
    EXPECT_EQ(::chown(dir.c_str(), uid, gid), 0);
    EXPECT_EQ(::chmod(dir.c_str(), 02770), 0);
    homes_.push_back(dir);
    return dir;
  }

  test::TempDir base_;
  std::vector<std::string> homes_;
};

TEST_F(TeamHomeTest, ItsGroupControlsTheServiceAccountsDaemonButNeverARootOne) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as several accounts";
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/setpriv";
  if (!contains(read_file("/etc/passwd"), "\nnobody:x:65534:")) GTEST_SKIP() << "no nobody 65534";
  ASSERT_EQ(::chmod(base_.path().c_str(), 0755), 0);
  const gid_t team = 4242;  // a group only this test uses: setpriv needs no /etc/group entry
  const std::vector<std::string> svc{"--reuid=65534", "--regid=65534", "--clear-groups"};
  const std::vector<std::string> member{"--reuid=1", "--regid=1", "--groups=4242"};
  const std::vector<std::string> outsider{"--reuid=2", "--regid=2", "--clear-groups"};

  // The service account's daemon: its socket is the group's too.
  std::string home = team_home("team", 65534, team);
  CommandResult r = herd_as(svc, home, {"ping"});
  ASSERT_EQ(r.exit_code, 0) << r;
  struct stat st {};
  ASSERT_EQ(::stat((home + "/herd.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, team);
  ASSERT_EQ(::stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02770u) << "the daemon took the team's access away";

  // A member starts and lists apps; they run as the service account.
  r = herd_as(member, home, {"start", "sleep 1000", "-n", "shared"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd_as(member, home, {"jlist"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = Json::parse(r.out);
  ASSERT_EQ(instances(list, "shared").size(), 1u) << r.out;
  pid_t pid = instance(list, "shared")["pid"];
  EXPECT_THAT(read_file("/proc/" + std::to_string(pid) + "/status"), HasSubstr("Uid:\t65534\t"));
  // Someone outside the group cannot.
  r = herd_as(outsider, home, {"ls"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("Permission denied"));
  // A daemon that is not root cannot run an app as another account: refused at start, by name.
  r = herd_as(member, home, {"start", "sleep 1000", "-n", "other", "--user", "daemon"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("needs a daemon started by root"));
  r = herd_as(member, home, {"delete", "shared"});
  EXPECT_EQ(r.exit_code, 0) << r;

  // A root daemon in a home shared with the same group: root's apps are root's alone.
  std::string root_home = team_home("root-team", 0, team);
  r = herd_as({}, root_home, {"ping"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(::stat((root_home + "/herd.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  r = herd_as(member, root_home, {"ls"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("Permission denied"));
  EXPECT_THAT(read_file(root_home + "/herd.log"), HasSubstr("controlled by root only"));
}

}  // namespace
}  // namespace herd::e2e
