// No leaked daemons (home_watch.h, home_lock.h): a daemon whose HERD_HOME is removed or moved
// away stops its apps gracefully and exits, with its keeper, its cgroups and nothing of the home
// left running; and the CLI never starts a second daemon for a home whose lock a live process
// holds without answering (a `herd runtime` starting or stopping): it says who holds it.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e/cgroup_cleanup.h"
#include "e2e/herd_fixture.h"
#include "e2e/process.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

class HomeTest : public HerdTest {
 protected:
  void TearDown() override {
    HerdTest::TearDown();
    std::error_code ec;
    for (const std::string& dir : extra_dirs_) std::filesystem::remove_all(dir, ec);
  }

  // A directory outside the home (removed after the test), for what must outlive the home.
  std::string outside_dir() {
    char tmpl[] = "/tmp/herd-e2e-out.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
      return "/tmp";
    }
    extra_dirs_.push_back(tmpl);
    return tmpl;
  }

  // An app that stops gracefully on SIGINT after `delay` (sleep's syntax), writing "graceful"
  // to HERD_E2E_FILE first: proof that it was stopped as `herd kill` stops it, not killed.
  std::string graceful_app(const std::string& delay) {
    return write_script("graceful", "trap 'sleep " + delay +
                                        "; echo graceful > \"$HERD_E2E_FILE\"; exit 0' INT\n"
                                        "while :; do sleep 0.1; done\n");
  }

  // The keeper's, daemon's and app's processes of a daemon running one app `name`.
  std::vector<ProcId> daemon_and_app(const std::string& name) {
    std::vector<ProcId> out;
    for (pid_t pid : {static_cast<pid_t>(std::atoi(read_file(path("keeper.pid")).c_str())),
                      daemon_pid(), instance(jlist(), name).value("pid", 0)}) {
      auto id = pid > 0 ? proc_id(pid) : std::nullopt;
      EXPECT_TRUE(id) << "no process " << pid;
      if (id) out.push_back(*id);
    }
    return out;
  }

  std::vector<std::string> extra_dirs_;
};

TEST_F(HomeTest, RemovingTheHomeStopsItsDaemonKeeperAndAppsGracefully) {
  std::string marker = outside_dir() + "/stopped";
  std::string app = graceful_app("0");
  ASSERT_EQ(herd({"start", app, "--name", "app"}, {{kFileVar, marker}}).exit_code, 0);
  ASSERT_TRUE(wait_status("app", "online"));
  std::vector<ProcId> procs = daemon_and_app("app");
  ASSERT_EQ(procs.size(), 3u);
  // With cgroups on (root, or a delegated subtree), the daemon made a group for this home.
  std::vector<std::string> groups = cgroups_of_home(home_);

  // rm -rf, as a test's or a script's cleanup does: retried while the daemon still writes there.
  ASSERT_TRUE(wait_for([&] {
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
    return !file_exists(home_);
  }));
  for (const ProcId& p : procs) {
    EXPECT_TRUE(wait_for([&] { return dead(p); }, 20s)) << "pid " << p.pid << " outlived the home";
  }
  EXPECT_EQ(read_file(marker), "graceful\n") << "the app was not stopped with its stop signal";
  std::vector<ProcId> left;
  EXPECT_TRUE(wait_for([&] { return (left = processes_of_home(home_)).empty(); }))
      << left.size() << " process(es) of the removed home still run, e.g. pid "
      << (left.empty() ? 0 : left[0].pid);
  for (const std::string& group : groups) {
    EXPECT_TRUE(wait_for([&] { return !file_exists(group); })) << group << " was left";
  }
}

TEST_F(HomeTest, MovingTheHomeAwayStopsItsDaemonAndLeavesTheNewHomesDaemonAlone) {
  std::string moved = outside_dir() + "/moved";
  std::string marker = moved + "-stopped";
  // Slow to stop: the new home's daemon starts while the old one still stops its app.
  std::string app = graceful_app("1");
  ASSERT_EQ(herd({"start", app, "--name", "app"}, {{kFileVar, marker}}).exit_code, 0);
  ASSERT_TRUE(wait_status("app", "online"));
  std::vector<ProcId> procs = daemon_and_app("app");
  ASSERT_EQ(procs.size(), 3u);
  std::vector<std::string> groups = cgroups_of_home(home_);

  ASSERT_EQ(::rename(home_.c_str(), moved.c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(::mkdir(home_.c_str(), 0700), 0) << std::strerror(errno);
  CommandResult ping = herd({"ping"});  // a new daemon, for the new directory
  ASSERT_EQ(ping.exit_code, 0) << ping;
  pid_t new_daemon = daemon_pid();
  ASSERT_GT(new_daemon, 0);

  for (const ProcId& p : procs) {
    EXPECT_TRUE(wait_for([&] { return dead(p); }, 20s)) << "pid " << p.pid << " outlived the move";
  }
  EXPECT_EQ(read_file(marker), "graceful\n");
  for (const std::string& group : groups) {
    EXPECT_TRUE(wait_for([&] { return !file_exists(group); })) << group << " was left";
  }
  // The old daemon removed none of the new one's files on its way out (its socket, its pid).
  EXPECT_TRUE(file_exists(path("herd.sock")));
  EXPECT_EQ(daemon_pid(), new_daemon);
  CommandResult again = herd({"ping"});
  EXPECT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(daemon_pid(), new_daemon) << "the new home's daemon was replaced";
}

TEST_F(HomeTest, ACommandStartsNoSecondDaemonForAHomeAnotherProcessHolds) {
  // The lock, held as a `herd runtime` or a keeper holds it, with no control socket.
  int lock = ::open(path("herd.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0) << std::strerror(errno);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0) << std::strerror(errno);

  CommandResult ls = herd({"ls"});
  EXPECT_NE(ls.exit_code, 0) << ls;
  EXPECT_THAT(ls.err, HasSubstr(home_ + " is held by pid " + std::to_string(::getpid())));
  EXPECT_THAT(ls.err, HasSubstr("no second daemon was started"));
  EXPECT_FALSE(file_exists(path("herd.sock")));
  EXPECT_THAT(herd_servers_of_home(home_), ::testing::IsEmpty()) << "a daemon was started";

  // Once nobody holds it, the first command starts the daemon as always.
  ::close(lock);
  CommandResult after = herd({"ls"});
  EXPECT_EQ(after.exit_code, 0) << after;
  EXPECT_TRUE(file_exists(path("herd.sock")));
}

TEST_F(HomeTest, ACommandWhileARuntimeDoesNotAnswerIsToldWhoHoldsTheHomeAndStartsNoDaemon) {
  std::string marker = outside_dir() + "/stopped";
  std::string app = graceful_app("0");
  auto rt = herd_runtime({app, "--name", "rt"}, {{kFileVar, marker}});
  ASSERT_TRUE(wait_status("rt", "online"));
  CommandResult ls = herd({"ls"});  // through the runtime's control socket
  ASSERT_EQ(ls.exit_code, 0) << ls;
  EXPECT_THAT(ls.out, HasSubstr("rt"));
  ASSERT_EQ(daemon_pid(), rt->pid());

  // The runtime alive, holding the home, and no control socket to answer on: as while it starts
  // (the lock taken, the socket not yet bound) or stops (the socket closed, the process not yet
  // gone), the moments in which a command used to start a second daemon.
  ASSERT_EQ(::unlink(path("herd.sock").c_str()), 0);
  CommandResult during = herd({"ls"});
  EXPECT_NE(during.exit_code, 0) << during;
  EXPECT_THAT(during.err, HasSubstr(home_ + " is held by pid " + std::to_string(rt->pid()) + " (" +
                                    herd_bin_ + " runtime "));
  EXPECT_THAT(during.err, HasSubstr("no second daemon was started"));
  EXPECT_FALSE(file_exists(path("herd.sock")));
  std::vector<ProcId> servers = herd_servers_of_home(home_);
  ASSERT_EQ(servers.size(), 1u) << "a daemon was started beside the runtime";
  EXPECT_EQ(servers[0].pid, rt->pid());

  rt->signal(SIGTERM);
  ASSERT_TRUE(rt->wait_exit(kWaitTimeout)) << rt->err();
  EXPECT_EQ(rt->code(), 0) << rt->err();
  EXPECT_EQ(read_file(marker), "graceful\n");
  EXPECT_THAT(herd_servers_of_home(home_), ::testing::IsEmpty());
}

TEST_F(HomeTest, KillEndsTheDaemonWhileClientsStayConnected) {
  std::string app = write_script("sleeper", "echo up-and-running\nexec sleep 1000\n");
  ASSERT_EQ(herd({"start", app, "--name", "s"}).exit_code, 0);
  std::vector<ProcId> procs = daemon_and_app("s");
  ASSERT_EQ(procs.size(), 3u);
  // A `herd logs` following (once it shows the app's line), and a connection that never sends
  // a line.
  auto logs = herd_background({"logs"});
  ASSERT_TRUE(logs->wait_output([](const std::string& o) { return contains(o, "up-and-running"); },
                                kWaitTimeout))
      << logs->result();
  int idle = connect_unix(path("herd.sock"));
  ASSERT_GE(idle, 0) << std::strerror(-idle);

  CommandResult kill = herd({"kill"});
  EXPECT_EQ(kill.exit_code, 0) << kill;
  EXPECT_THAT(kill.err, ::testing::Not(HasSubstr("had not exited"))) << kill;
  for (const ProcId& p : procs) {
    EXPECT_TRUE(wait_for([&] { return dead(p); })) << "pid " << p.pid << " outlived herd kill";
  }
  EXPECT_TRUE(logs->wait_exit(kWaitTimeout)) << "herd logs still runs";
  EXPECT_EQ(logs->code(), 0) << logs->result();
  timeval limit{10, 0};  // a read that would block fails instead of hanging the test
  ASSERT_EQ(::setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit), 0);
  char byte;
  EXPECT_EQ(::read(idle, &byte, 1), 0) << "the idle connection was not closed";
  ::close(idle);
}

TEST_F(HomeTest, RemovingARuntimesHomeStopsItWithExitCodeOne) {
  std::string marker = outside_dir() + "/stopped";
  std::string app = graceful_app("0");
  auto rt = herd_runtime({app, "--name", "rt"}, {{kFileVar, marker}});
  ASSERT_TRUE(wait_status("rt", "online"));
  ASSERT_TRUE(wait_for([&] {
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
    return !file_exists(home_);
  }));
  ASSERT_TRUE(rt->wait_exit(20s)) << rt->err();
  EXPECT_EQ(rt->code(), 1) << rt->err();
  EXPECT_THAT(rt->err(), HasSubstr(" was removed"));
  EXPECT_THAT(rt->err(), HasSubstr("stopping every app and exiting"));
  EXPECT_EQ(read_file(marker), "graceful\n");
}

}  // namespace
}  // namespace herd::e2e
