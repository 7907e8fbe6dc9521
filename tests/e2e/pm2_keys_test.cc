// More of PM2's start flags and ecosystem keys through the real CLI: autostart, -a,
// --filter-env, --disable-logs, -l without a path, --ext, --attach, shutdown_with_message and
// the account an app runs as (uid/user, gid). Each test says whether it follows PM2's
// documentation or what PM2 7.0.4 was seen doing.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "e2e/cluster_mode_fixture.h"
#include "e2e/herd_fixture.h"
#include "support/temp_dir.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void touch(const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << file;
  ASSERT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
}

// The reasons herd.log gives for the restarts of `app`.
std::vector<std::string> restart_reasons(const std::string& log, const std::string& app) {
  std::vector<std::string> out;
  std::string needle = "app " + app + ": restarting: ";
  for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at)) {
    at += needle.size();
    out.push_back(log.substr(at, log.find('\n', at) - at));
  }
  return out;
}

// PM2 7.0.4, checked: `start --no-autostart` (and `autostart: false`) registers the app as
// `stopped` with pid 0 (God.js executeApp). PM2's own `start <name>`/`restart` then leave it
// stopped; herd starts it, which is what the flag's help ("add an app without automatic start")
// promises. A saved list brings it back stopped.
TEST_F(HerdTest, NoAutostartRegistersTheAppStoppedUntilStarted) {
  std::string script = write_script("idle", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "-n", "later", "--no-autostart"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json p = instance(jlist(), "later");
  EXPECT_EQ(p["pm2_env"]["status"], "stopped");
  EXPECT_EQ(p["pid"], 0);
  EXPECT_EQ(p["pm2_env"]["autostart"], false);

  write_file(path("eco.json"),
             R"({"apps": [{"name": "eco", "script": ")" + script + R"(", "autostart": false}]})");
  r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(instance(jlist(), "eco")["pm2_env"]["status"], "stopped");

  r = herd({"save"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", "later"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("later", "online")) << jlist().dump(1);
  r = herd({"restart", "eco"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("eco", "online")) << jlist().dump(1);

  // Saved while stopped: resurrected stopped.
  r = herd({"kill"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = jlist();
  EXPECT_EQ(instance(list, "later")["pm2_env"]["status"], "stopped") << list.dump(1);
  EXPECT_EQ(instance(list, "eco")["pm2_env"]["status"], "stopped") << list.dump(1);
}

// PM2 7.0.4 (lib/binaries/CLI.js): -a is --update-env; --filter-env NAME drops the shell's
// variables whose names contain NAME (lib/Common.js filterEnv, checked: FOOA and FOOB go with
// `--filter-env FOO`); --disable-logs writes no log files (pm_out_log_path /dev/null).
TEST_F(HerdTest, UpdateEnvShortFlagFilterEnvAndDisableLogs) {
  std::string script = write_script("talk", "echo said-something\nexec sleep 1000\n");
  CommandResult r =
      herd({"start", script, "-n", "quiet", "--filter-env", "SECRET", "--disable-logs"},
           {{"MY_SECRET_KEY", "x"}, {"KEPT", "y"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("quiet", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  Json env = instance(list, "quiet")["pm2_env"];
  EXPECT_FALSE(env["env"].contains("MY_SECRET_KEY")) << env["env"].dump(1);
  EXPECT_EQ(env["env"].value("KEPT", ""), "y");
  EXPECT_EQ(env["pm_out_log_path"], "/dev/null");
  EXPECT_EQ(env["pm_err_log_path"], "/dev/null");
  EXPECT_THAT(read_file(path("logs/quiet-out.log")), Not(HasSubstr("said-something")));

  r = herd({"restart", "quiet", "-a"}, {{"ADDED_LATER", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("quiet", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(instance(list, "quiet")["pm2_env"]["env"].value("ADDED_LATER", ""), "1");
}

// PM2 7.0.4, checked: `-l` without a path (log_file: true) is the combined log
// $PM2_HOME/logs/<name>.log, <name>-<id>.log with several instances (lib/Common.js); herd's
// is in $HERD_HOME/logs.
TEST_F(HerdTest, LogWithoutAPathIsTheCombinedLogInTheLogsFolder) {
  std::string script = write_script("both", "echo to-out\necho to-err >&2\nexec sleep 1000\n");
  CommandResult r = herd({"start", script, "-n", "comb", "-l"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("comb", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  std::string log = path("logs/comb.log");
  EXPECT_EQ(instance(list, "comb")["pm2_env"]["pm_log_path"], log);
  ASSERT_TRUE(wait_for([&] {
    std::string text = read_file(log);
    return contains(text, "to-out") && contains(text, "to-err");
  })) << read_file(log);

  write_file(path("eco.json"), R"({"apps": [{"name": "combs", "script": ")" + script +
                                   R"(", "instances": 2, "exec_mode": "fork", "log": true}]})");
  r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("combs", "online", 2, kWaitTimeout, &list)) << list.dump(1);
  for (const Json& p : instances(list, "combs")) {
    EXPECT_EQ(p["pm2_env"]["pm_log_path"],
              path("logs/combs-" + std::to_string(p["pm_id"].get<int>()) + ".log"));
  }
}

// PM2 7.0.4's --ext js,json (lib/API.js, API/Modules/flagExt.js): only files with those
// extensions restart a watched app.
TEST_F(HerdTest, ExtRestartsOnlyForFilesWithThoseExtensions) {
  std::string app = path("app");
  ASSERT_EQ(::mkdir(app.c_str(), 0755), 0);
  std::string script = write_script("watched", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "-n", "w", "--cwd", app, "--watch", "--ext", "js,json",
                          "--watch-delay", "0.2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("w", "online")) << jlist().dump(1);
  // The other extensions first, then a .js file: one restart, for the .js file.
  touch(app + "/notes.txt");
  touch(app + "/data.jsonl");
  touch(app + "/server.js");
  ASSERT_TRUE(wait_for([&] { return !restart_reasons(read_file(path("herd.log")), "w").empty(); }))
      << read_file(path("herd.log"));
  std::vector<std::string> reasons = restart_reasons(read_file(path("herd.log")), "w");
  ASSERT_EQ(reasons.size(), 1u) << read_file(path("herd.log"));
  EXPECT_THAT(reasons[0], HasSubstr(app + "/server.js changed"));
}

// PM2 7.0.4 (lib/API.js): --attach streams the started apps' logs until Ctrl-C.
TEST_F(HerdTest, AttachStreamsTheLogsAfterStarting) {
  std::string script =
      write_script("ticker", "while :; do echo tick-$(date +%s%N); sleep 0.1; done\n");
  auto attached = herd_background({"start", script, "-n", "att", "--attach"});
  ASSERT_TRUE(attached->wait_output(
      [](const std::string& out) { return contains(out, "att") && contains(out, "tick-"); },
      kWaitTimeout))
      << attached->result();
  EXPECT_TRUE(attached->running());
  attached->signal(SIGINT);
  EXPECT_TRUE(attached->wait_exit(kWaitTimeout)) << attached->result();
  EXPECT_EQ(instance(jlist(), "att")["pm2_env"]["status"], "online");  // the app stays
}

// PM2 7.0.4 (God/Methods.js killProcess): with shutdown_with_message the app is sent the IPC
// message 'shutdown' instead of the kill signal; it can then end on its own. A program without
// a Node IPC channel gets the signal, as PM2 falls back.
TEST_F(HerdTest, ShutdownWithMessageStopsANodeAppThroughItsChannel) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  write_file(path("bye.js"),
             "process.on('SIGINT', () => { console.log('got SIGINT'); process.exit(1); });\n"
             "process.on('message', m => {\n"
             "  if (m === 'shutdown') { console.log('bye'); process.exit(0); }\n"
             "});\n"
             "setInterval(() => {}, 1000);\n");
  CommandResult r = herd(
      {"start", path("bye.js"), "-n", "bye", "--shutdown-with-message", "--kill-timeout", "10000"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("bye", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  std::string out = instance(list, "bye")["pm2_env"]["pm_out_log_path"];
  r = herd({"stop", "bye"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "bye"); })) << read_file(out);
  EXPECT_THAT(read_file(out), Not(HasSubstr("got SIGINT")));
  Json p = instance(jlist(), "bye");
  EXPECT_EQ(p["pm2_env"]["status"], "stopped");
  EXPECT_EQ(p["pm2_env"]["exit_code"], 0);

  // No channel: the signal, at once (not after kill_timeout's 10 s).
  std::string script = write_script("plain", "exec sleep 1000\n");
  r = herd({"start", script, "-n", "plain", "--shutdown-with-message", "--kill-timeout", "10000"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("plain", "online")) << jlist().dump(1);
  r = herd({"stop", "plain"}, {}, 5s);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(instance(jlist(), "plain")["pm2_env"]["exit_signal"], SIGINT);
}

// PM2 7.0.4 (lib/Common.js verifyConfs, God/ForkMode.js): --uid/--user runs the app as that
// account, with its primary group unless --gid says otherwise, HOME its home; herd also sets
// USER, LOGNAME, SHELL and the supplementary groups, as runuser(1) does. An unknown user is
// refused at start.
TEST_F(HerdTest, UserRunsTheAppAsThatAccount) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: only a root daemon runs apps as another user";
  if (!contains(read_file("/etc/passwd"), "\nnobody:")) GTEST_SKIP() << "no user nobody";
  // A folder `nobody` may enter, holding a script it may read.
  test::TempDir shared;
  ASSERT_EQ(::chmod(shared.path().c_str(), 0755), 0);
  std::string script = shared.path() + "/who.sh";
  write_file(script, "id -u; id -g; echo \"$HOME $USER $LOGNAME\"\nexec sleep 1000\n", 0755);
  CommandResult r =
      herd({"start", script, "-n", "who", "--user", "nobody", "--cwd", shared.path()});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("who", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  Json env = instance(list, "who")["pm2_env"];
  std::string out = env["pm_out_log_path"];
  std::string uid = std::to_string(env["uid"].get<int>());
  std::string gid = std::to_string(env["gid"].get<int>());
  EXPECT_NE(uid, "0");
  EXPECT_EQ(env["username"], "nobody");
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "nobody nobody"); }))
      << read_file(out) << read_file(env["pm_err_log_path"]);
  EXPECT_THAT(read_file(out), HasSubstr(uid + "\n" + gid + "\n"));
  // The log file is the daemon's, as before.
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);

  r = herd({"start", script, "-n", "ghost", "--user", "no-such-user-here"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no user 'no-such-user-here'"));
  r = herd({"start", script, "-n", "ghost", "--user", "nobody", "--gid", "no-such-group-here"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no group 'no-such-group-here'"));
}

}  // namespace
}  // namespace herd::e2e
