// The daemon never takes the apps down for good (keeper.h): kill -9 of the daemon leaves no app
// process behind, whatever its command line (a shell pipeline, a program that forks and leaves
// a child behind, a cluster app), and the new daemon the keeper starts restores all of them
// without a person's command, saying so in herd.log and to the first CLI command.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Every descendant of `root` (not `root` itself), as ProcIds.
std::vector<ProcId> descendants(pid_t root) {
  std::vector<pid_t> all;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      pid_t p = std::atoi(e->d_name);
      if (p > 0) all.push_back(p);
    }
    ::closedir(d);
  }
  std::vector<pid_t> tree{root};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    for (pid_t p : all) {
      auto st = proc_stat(p);
      if (st && st->ppid == tree[i] && st->state != 'Z') tree.push_back(p);
    }
  }
  std::vector<ProcId> out;
  for (std::size_t i = 1; i < tree.size(); ++i) {
    if (auto id = proc_id(tree[i])) out.push_back(*id);
  }
  return out;
}

TEST_F(HerdTest, KillNineOfTheDaemonLeavesNoAppAndTheNextDaemonRestoresThem) {
  // A fork-mode program that leaves a child of its own; a shell pipeline (the shell's commands
  // are not herd's children); a cluster app of two instances.
  std::string forker = write_script("forker.sh", "sleep 1001 &\nexec sleep 1002\n");
  ASSERT_EQ(herd({"start", forker, "--name", "forker"}).exit_code, 0);
  ASSERT_EQ(herd({"start", "sleep 1003 | cat", "--name", "pipe"}).exit_code, 0);
  std::string server = herd_bin_.substr(0, herd_bin_.rfind('/')) + "/plain_server";
  ASSERT_EQ(herd({"start", server, "--name", "web", "-i", "2", "--", "0"}).exit_code, 0);
  auto four_online = [](const Json& l) {
    return l.size() == 4 && std::all_of(l.begin(), l.end(), [](const Json& p) {
             return p["pm2_env"]["status"] == "online";
           });
  };
  Json list;
  ASSERT_TRUE(wait_jlist(four_online, kWaitTimeout, &list)) << list.dump(1);

  pid_t old_daemon = daemon_pid();
  ASSERT_GT(old_daemon, 0);
  std::vector<ProcId> apps;
  ASSERT_TRUE(wait_for([&] {
    apps = descendants(old_daemon);
    return apps.size() >= 7;  // forker + its sleep, sh + sleep + cat, 2 servers
  })) << apps.size()
      << " processes under the daemon";
  auto old_id = proc_id(old_daemon);
  ASSERT_TRUE(old_id);
  ASSERT_EQ(::kill(old_daemon, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return dead(*old_id); }));
  for (const ProcId& p : apps) {
    EXPECT_TRUE(wait_for([&] { return dead(p); })) << "pid " << p.pid << " outlived the daemon";
  }

  // A new daemon, started by the keeper, not by this test; the first command hears of it.
  ASSERT_TRUE(wait_for([&] { return daemon_pid() > 0 && daemon_pid() != old_daemon; }));
  CommandResult first = herd({"ping"});
  EXPECT_EQ(first.exit_code, 0) << first;
  EXPECT_THAT(first.err, HasSubstr("restored 3 app(s)")) << first;
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("restored 3 app(s) that were running"));
  ASSERT_TRUE(wait_jlist(four_online, kWaitTimeout, &list)) << list.dump(1);
  for (const auto& p : list) {
    for (const ProcId& old : apps) EXPECT_NE(p["pid"].get<pid_t>(), old.pid);
  }
  // Told once: the next command says nothing more.
  EXPECT_THAT(herd({"ping"}).err, ::testing::Not(HasSubstr("restored")));
}

TEST_F(HerdTest, AStoppedAppIsNotRestoredAndAKilledDaemonRestoresNothing) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--name", "kept"}).exit_code, 0);
  ASSERT_EQ(herd({"start", script, "--name", "stopped"}).exit_code, 0);
  ASSERT_EQ(herd({"stop", "stopped"}).exit_code, 0);
  pid_t d = daemon_pid();
  auto id = proc_id(d);
  ASSERT_TRUE(id);
  ASSERT_EQ(::kill(d, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return dead(*id); }));
  ASSERT_TRUE(wait_for([&] { return daemon_pid() > 0 && daemon_pid() != d; }));
  Json list = jlist();
  EXPECT_EQ(instances(list, "kept").size(), 1u) << list.dump(1);
  EXPECT_TRUE(instances(list, "stopped").empty()) << list.dump(1);

  // `herd kill` is a clean stop: the next daemon starts empty.
  ASSERT_EQ(herd({"kill"}).exit_code, 0);
  EXPECT_FALSE(file_exists(path("running.json")));
  CommandResult r = herd({"jlist"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Json::parse(r.out), Json::array());
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("restored")));
}

}  // namespace
}  // namespace herd::e2e
