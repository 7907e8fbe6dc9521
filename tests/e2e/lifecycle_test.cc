// An app's life under herd: start, ls/jlist, the verbs and their targets, a crash by kill -9,
// kill_timeout escalation, and no grandchild left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string status_of(const Json& list, const std::string& name) {
  return HerdTest::instance(list, name)["pm2_env"].value("status", "?");
}

TEST_F(HerdTest, StartsAShellScriptAndShowsItInLsAndJlist) {
  std::string script = write_script("hello.sh", "echo hello from the script\nexec sleep 1000\n");
  CommandResult r = herd({"start", script});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("hello"));  // start shows the table

  CommandResult ls = herd({"ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls;
  EXPECT_THAT(ls.out, HasSubstr("hello"));
  EXPECT_THAT(ls.out, HasSubstr("online"));
  EXPECT_THAT(ls.out, HasSubstr("fork"));
  EXPECT_THAT(ls.out, Not(HasSubstr("\x1b[")));  // no colour: stdout is not a terminal

  Json list = jlist();
  ASSERT_EQ(list.size(), 1u) << list.dump(1);
  const Json& p = list[0];
  EXPECT_EQ(p["name"], "hello");
  EXPECT_EQ(p["pm_id"], 0);
  ASSERT_GT(p["pid"].get<int>(), 0);
  EXPECT_EQ(::kill(p["pid"].get<pid_t>(), 0), 0) << "the pid jlist shows is not alive";
  EXPECT_TRUE(p["monit"].contains("memory"));
  EXPECT_TRUE(p["monit"].contains("cpu"));
  const Json& env = p["pm2_env"];
  EXPECT_EQ(env["status"], "online");
  EXPECT_EQ(env["exec_mode"], "fork_mode");
  EXPECT_EQ(env["restart_time"], 0);
  EXPECT_EQ(env["unstable_restarts"], 0);
  EXPECT_GT(env["pm_uptime"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(env["NODE_APP_INSTANCE"], 0);
  EXPECT_EQ(env["env"].value("NODE_APP_INSTANCE", ""), "0");
  EXPECT_EQ(env["env"].value("HERD_HOME", ""), home_);  // the CLI's environment, frozen
  EXPECT_THAT(env.value("pm_exec_path", ""), HasSubstr("hello.sh"));
  std::string out_log = env.value("pm_out_log_path", "");
  EXPECT_TRUE(file_exists(out_log)) << out_log;
  EXPECT_TRUE(file_exists(env.value("pm_err_log_path", ""))) << env.dump(1);
  EXPECT_EQ(out_log, path("logs/hello-out.log"));  // PM2's naming: no -<id> for one fork app
  EXPECT_TRUE(wait_for([&] {
    return read_file(out_log).find("hello from the script") != std::string::npos;
  })) << read_file(out_log);

  CommandResult d = herd({"describe", "hello"});
  EXPECT_EQ(d.exit_code, 0) << d;
  EXPECT_THAT(d.out, HasSubstr(out_log));
  d = herd({"describe", "nosuch"});
  EXPECT_EQ(d.exit_code, 1) << d;
  EXPECT_THAT(d.err, HasSubstr("nosuch"));
}

// A command line of one command runs as that program: its pid is the one jlist shows (PM2 runs
// command lines with bash -c, which execs such a line), so a signal sent to that pid reaches the
// program. A longer command line keeps its shell, whose pid is shown.
TEST_F(HerdTest, ACommandLineOfOneCommandIsShownWithTheProgramsPid) {
  ASSERT_EQ(herd({"start", "sleep 1000", "-n", "one"}).exit_code, 0);
  ASSERT_EQ(herd({"start", "MARK=1 sleep 1001", "-n", "assigned"}).exit_code, 0);
  ASSERT_EQ(herd({"start", "sleep 1002 && true", "-n", "list"}).exit_code, 0);
  ASSERT_TRUE(wait_status("one", "online"));
  ASSERT_TRUE(wait_status("assigned", "online"));
  ASSERT_TRUE(wait_status("list", "online"));
  Json list = jlist();
  auto comm = [&](const std::string& name) {
    std::string c =
        read_file("/proc/" + std::to_string(instance(list, name)["pid"].get<int>()) + "/comm");
    return c.substr(0, c.find('\n'));
  };
  EXPECT_EQ(comm("one"), "sleep");
  EXPECT_EQ(comm("assigned"), "sleep");
  EXPECT_THAT(read_file("/proc/" + std::to_string(instance(list, "assigned")["pid"].get<int>()) +
                        "/environ"),
              HasSubstr("MARK=1"));
  EXPECT_EQ(comm("list"), "sh");
  // The shell is gone from the first two: a signal to the pid ends the program itself.
  ASSERT_EQ(::kill(instance(list, "one")["pid"].get<pid_t>(), SIGTERM), 0);
  EXPECT_TRUE(wait_jlist([](const Json& l) {
    return instance(l, "one")["pm2_env"].value("restart_time", 0) == 1 &&
           instance(l, "one")["pm2_env"].value("status", "") == "online";
  }));
}

// PM2's prettylist: jlist's processes, indented two spaces a level; herd's stays JSON.
TEST_F(HerdTest, PrettylistPrintsJlistIndented) {
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--name", "web"}).exit_code, 0);
  ASSERT_TRUE(wait_status("web", "online"));
  CommandResult r = herd({"prettylist"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << r.out;
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "web");
  EXPECT_EQ(list[0]["pm2_env"]["status"], "online");
  EXPECT_EQ(list[0]["pid"], instance(jlist(), "web")["pid"]);
  EXPECT_EQ(r.out, list.dump(2) + "\n");
  EXPECT_EQ(r.out.rfind("[\n  {\n    \"", 0), 0u) << r.out.substr(0, 40);
  // Like jlist, it takes no arguments.
  EXPECT_NE(herd({"prettylist", "web"}).exit_code, 0);
}

TEST_F(HerdTest, VerbsTakeNamesIdsRegexesAllAndSeveralTargets) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  for (const char* name : {"alpha", "beta", "gamma"}) {
    CommandResult r = herd({"start", script, "-n", name, "--min-uptime", "100"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  Json list = jlist();
  std::string beta_id = std::to_string(instance(list, "beta")["pm_id"].get<int>());
  std::string gamma_id = std::to_string(instance(list, "gamma")["pm_id"].get<int>());
  std::string alpha_id = std::to_string(instance(list, "alpha")["pm_id"].get<int>());
  int alpha_pid = instance(list, "alpha")["pid"];

  // By name.
  CommandResult r = herd({"stop", "alpha"});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_EQ(status_of(list, "alpha"), "stopped");
  EXPECT_EQ(instance(list, "alpha")["pid"], 0);
  EXPECT_EQ(instance(list, "alpha")["monit"]["memory"], 0);  // not the dead process's last sample
  EXPECT_EQ(instance(list, "alpha")["monit"]["cpu"], 0);
  EXPECT_EQ(status_of(list, "beta"), "online");
  EXPECT_EQ(status_of(list, "gamma"), "online");

  // By id.
  r = herd({"stop", beta_id});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_EQ(status_of(list, "beta"), "stopped");
  EXPECT_EQ(status_of(list, "gamma"), "online");

  // By regex: both stopped apps come back, counted as restarted; gamma is untouched.
  int gamma_pid = instance(list, "gamma")["pid"];
  r = herd({"restart", "/^(alpha|beta)$/"});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_EQ(status_of(list, "alpha"), "online");
  EXPECT_EQ(status_of(list, "beta"), "online");
  EXPECT_NE(instance(list, "alpha")["pid"], alpha_pid);
  EXPECT_EQ(instance(list, "alpha")["pm2_env"]["restart_time"], 1);
  EXPECT_EQ(instance(list, "beta")["pm2_env"]["restart_time"], 1);
  EXPECT_EQ(instance(list, "gamma")["pid"], gamma_pid);
  EXPECT_EQ(instance(list, "gamma")["pm2_env"]["restart_time"], 0);

  // A running name cannot be started twice.
  r = herd({"start", script, "-n", "gamma"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("gamma"));
  EXPECT_EQ(jlist().size(), 3u);

  // Several targets at once: a name and an id.
  r = herd({"stop", "alpha", gamma_id});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_EQ(status_of(list, "alpha"), "stopped");
  EXPECT_EQ(status_of(list, "gamma"), "stopped");
  EXPECT_EQ(status_of(list, "beta"), "online");

  // all.
  r = herd({"restart", "all"});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  for (const char* name : {"alpha", "beta", "gamma"}) EXPECT_EQ(status_of(list, name), "online");
  EXPECT_GT(instance(list, "gamma")["pid"].get<int>(), 0);
  EXPECT_NE(instance(list, "gamma")["pid"], gamma_pid);
  r = herd({"stop", "all"});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  for (const char* name : {"alpha", "beta", "gamma"}) EXPECT_EQ(status_of(list, name), "stopped");

  // Unknown targets: exit code 1, a message that names the target, and nothing done (the whole
  // request fails, also for the targets that exist).
  r = herd({"restart", "alpha", "nosuchapp"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("nosuchapp"));
  EXPECT_EQ(status_of(jlist(), "alpha"), "stopped");
  r = herd({"stop", "42"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("42"));
  r = herd({"delete", "/^zzz/"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("/^zzz/"));
  r = herd({"stop"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(jlist().size(), 3u);

  // delete by id, by regex, several names, and all.
  r = herd({"delete", alpha_id});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_TRUE(instances(list, "alpha").empty());
  EXPECT_EQ(list.size(), 2u);
  r = herd({"delete", "/^gam/"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(instances(jlist(), "gamma").empty());
  r = herd({"start", script, "-n", "delta", "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"delete", "beta", "delta"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(jlist().empty());
  r = herd({"start", script, "-n", "epsilon", "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  int epsilon_pid = instance(jlist(), "epsilon")["pid"];
  auto epsilon = proc_id(epsilon_pid);
  r = herd({"delete", "all"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(jlist().empty());
  ASSERT_TRUE(epsilon.has_value());
  EXPECT_TRUE(wait_for([&] { return reaped(*epsilon); })) << "deleted app still runs";

  // Nothing is managed any more: `all` matches nothing.
  r = herd({"stop", "all"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("all"));
  r = herd({"restart", "epsilon"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("epsilon"));
}

TEST_F(HerdTest, KillNineOfAnAppRestartsItAndCountsTheRestart) {
  std::string script = write_script("victim", "exec sleep 1000\n");
  CommandResult r = herd({"start", script});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json p = instance(jlist(), "victim");
  ASSERT_EQ(p["pm2_env"]["status"], "online");
  pid_t old = p["pid"];
  auto old_id = proc_id(old);
  ASSERT_TRUE(old_id.has_value());

  ASSERT_EQ(::kill(old, SIGKILL), 0);
  Json list;
  EXPECT_TRUE(wait_jlist(
      [&](const Json& l) {
        Json i = instance(l, "victim");
        return i["pid"].get<int>() > 0 && i["pid"] != old && i["pm2_env"]["status"] == "online" &&
               i["pm2_env"]["restart_time"] == 1;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  Json now = instance(list, "victim");
  EXPECT_EQ(now["pm2_env"]["exit_signal"], SIGKILL);
  // It had run past min_uptime: a stable run, so no unstable restart is counted.
  EXPECT_EQ(now["pm2_env"]["unstable_restarts"], 0);
  EXPECT_EQ(::kill(now["pid"].get<pid_t>(), 0), 0);
  EXPECT_TRUE(wait_for([&] { return reaped(*old_id); })) << "the killed process was not reaped";
  expect_no_zombies();
}

TEST_F(HerdTest, StopEscalatesToSigkillAfterKillTimeout) {
  std::string marker = path("blocking");
  CommandResult r =
      herd({"start", test_binary(), "-n", "stubborn", "-k", "300", "--min-uptime", "100"},
           {{kRoleVar, "block_sigint"}, {kFileVar, marker}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return file_exists(marker); })) << "the role never blocked SIGINT";
  Json p = instance(jlist(), "stubborn");
  ASSERT_EQ(p["pm2_env"]["kill_timeout"], 300);
  auto app = proc_id(p["pid"].get<pid_t>());
  ASSERT_TRUE(app.has_value());

  auto t0 = std::chrono::steady_clock::now();
  r = herd({"stop", "stubborn"});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.exit_code, 0) << r;
  // SIGINT did nothing; only SIGKILL, sent once kill_timeout passed, ended it.
  EXPECT_GE(took, 300ms);
  Json now = instance(jlist(), "stubborn");
  EXPECT_EQ(now["pm2_env"]["status"], "stopped");
  EXPECT_EQ(now["pm2_env"]["exit_signal"], SIGKILL);
  EXPECT_EQ(now["pid"], 0);
  EXPECT_TRUE(wait_for([&] { return reaped(*app); }));
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("kill_timeout"));
}

// A shell app that starts `sleep 1000 &` (which ignores SIGINT, as every background job of a
// non-interactive shell does), writes its pid to $1, and exits 3 once the file $2 exists.
constexpr const char* kSpawner =
    "sleep 1000 &\n"
    "echo $! > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n"
    "while [ ! -e \"$2\" ]; do sleep 0.05; done\n"
    "exit 3\n";

TEST_F(HerdTest, NoGrandchildSurvivesStopDeleteOrCrash) {
  std::string script = write_script("spawner", kSpawner);
  std::map<std::string, ProcId> grandchild;
  for (const char* name : {"gc-stop", "gc-delete", "gc-crash"}) {
    std::string pid_file = path(std::string(name) + ".pid");
    CommandResult r = herd({"start", script, "-n", name, "--no-autorestart", "--min-uptime", "100",
                            "--", pid_file, path(std::string(name) + ".trigger")});
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_TRUE(wait_for([&] { return file_exists(pid_file); })) << name << " wrote no pid";
    auto id = proc_id(static_cast<pid_t>(std::atoi(read_file(pid_file).c_str())));
    ASSERT_TRUE(id.has_value()) << name << ": the grandchild is not running";
    grandchild[name] = *id;
  }

  CommandResult r = herd({"stop", "gc-stop"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_for([&] { return reaped(grandchild["gc-stop"]); }))
      << "the grandchild " << grandchild["gc-stop"].pid << " survived `herd stop`";

  r = herd({"delete", "gc-delete"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_for([&] { return reaped(grandchild["gc-delete"]); }))
      << "the grandchild " << grandchild["gc-delete"].pid << " survived `herd delete`";

  // The app exits on its own (code 3); its grandchild must go with it.
  write_file(path("gc-crash.trigger"), "now\n");
  Json list;
  EXPECT_TRUE(wait_jlist(
      [](const Json& l) {
        Json i = instance(l, "gc-crash");
        return i["pm2_env"]["status"] == "stopped" && i["pm2_env"]["exit_code"] == 3;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  EXPECT_TRUE(wait_for([&] { return reaped(grandchild["gc-crash"]); }))
      << "the grandchild " << grandchild["gc-crash"].pid << " survived its parent's crash";
  expect_no_zombies();
}

}  // namespace
}  // namespace herd::e2e
