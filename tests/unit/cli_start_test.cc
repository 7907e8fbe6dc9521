// `herd start`'s command line: every flag of the settings table sets its field, and flags given
// with an ecosystem file override the file where the table says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/app_settings.h"
#include "cli/start_args.h"
#include "support/temp_dir.h"

namespace herd::cli {
namespace {

using manager::AppSpec;
using manager::ExecMode;

Result<StartRequest> start(std::vector<std::string> args) {
  return parse_start(args, {{"HOME", "/home/u"}}, "/work");
}

// One of every flag of the table, with a value unlike the default.
Result<StartRequest> start_with_every_flag() {
  auto args = manager::split_command_line(
      "./app.js -n api -i 2 --listen :8080 --cwd srv --interpreter none --wait-ready "
      "--listen-timeout 500 --no-inject -k 900 --kill-signal SIGTERM --no-autorestart "
      "--max-restarts 3 --min-uptime=200 --restart-delay 10 --exp-backoff-restart-delay 100 "
      "--stop-exit-codes 0,2 --time -o out.log -e /tmp/err.log -l all.log --merge-logs "
      "--max-memory-restart 300M --cron '0 3 * * *' --watch src,lib --ignore-watch 'tmp *.log' "
      "--watch-delay 2 --namespace web -- --port 1");
  if (!args) return std::unexpected(args.error());
  return start(*args);
}

TEST(StartArgsTest, FlagsSetTheirFields) {
  auto r = start_with_every_flag();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 1u);
  const AppSpec& a = r->apps[0];
  EXPECT_EQ(a.name, "api");
  EXPECT_EQ(a.instances, "2");
  EXPECT_EQ(a.exec_mode, ExecMode::kCluster);
  EXPECT_EQ(a.listen, std::vector<std::string>{":8080"});
  EXPECT_EQ(a.cwd, "/work/srv");
  EXPECT_EQ(a.interpreter, "none");
  EXPECT_TRUE(a.wait_ready);
  EXPECT_EQ(a.listen_timeout_ms, 500u);
  EXPECT_FALSE(a.inject);
  EXPECT_EQ(a.kill_timeout_ms, 900u);
  EXPECT_EQ(a.kill_signal, "SIGTERM");
  EXPECT_FALSE(a.autorestart);
  EXPECT_EQ(a.max_restarts, 3);
  EXPECT_EQ(a.min_uptime_ms, 200u);
  EXPECT_EQ(a.restart_delay_ms, 10u);
  EXPECT_EQ(a.exp_backoff_restart_delay_ms, 100u);
  EXPECT_EQ(a.stop_exit_codes, (std::vector<int>{0, 2}));
}

TEST(StartArgsTest, LogAndWatchFlagsSetTheirFields) {
  auto r = start_with_every_flag();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 1u);
  const AppSpec& a = r->apps[0];
  EXPECT_TRUE(a.time);
  EXPECT_EQ(a.out_file, "/work/out.log");
  EXPECT_EQ(a.error_file, "/tmp/err.log");
  EXPECT_EQ(a.log_file, "/work/all.log");
  EXPECT_TRUE(a.merge_logs);
  EXPECT_EQ(a.max_memory_restart, 300u << 20);
  EXPECT_EQ(a.cron_restart, "0 3 * * *");
  EXPECT_TRUE(a.watch);
  EXPECT_EQ(a.watch_paths, (std::vector<std::string>{"src", "lib"}));
  EXPECT_EQ(a.ignore_watch, (std::vector<std::string>{"tmp", "*.log"}));
  EXPECT_EQ(a.watch_delay_ms, 2000u);
  EXPECT_EQ(a.namespace_, "web");
  EXPECT_EQ(a.args, (std::vector<std::string>{"--port", "1"}));
  EXPECT_EQ(a.env.at("HOME"), "/home/u");
}

TEST(StartArgsTest, ErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  };
  const Case cases[] = {
      {{"app.js", "-k"}, "-k needs a value"},
      {{"app.js", "-k", "soon"}, "-k takes milliseconds (a whole number), not 'soon'"},
      {{"app.js", "--max-restarts", "x"}, "--max-restarts takes a whole number, not 'x'"},
      {{"app.js", "--stop-exit-codes", "1,a"}, "--stop-exit-codes takes numbers, not 'a'"},
      {{"app.js", "--bogus"}, "unknown option '--bogus' for start (see `herd start --help`)"},
      {{"--time"}, "start needs a script, a command or an ecosystem file"},
  };
  for (const Case& c : cases) {
    auto r = start(c.args);
    ASSERT_FALSE(r) << c.error;
    EXPECT_EQ(manager::input_error_message(r.error()), c.error);
  }
}

TEST(StartArgsTest, FlagsOverrideAnEcosystemFileWhereTheTableSays) {
  herd::test::TempDir dir;
  std::string path = dir.path() + "/eco.json";
  std::ofstream(path) << R"({"apps": [{"name": "api", "script": "a.js", "kill_timeout": 100,
      "watch": ["src"], "out_file": "file.log", "increment_var": "PORT",
      "env": {"PORT": 3000}}]})";
  auto r = start({path, "-k", "700", "--watch", "--namespace", "web", "-o", "cli.log", "-i", "3"});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 1u);
  const AppSpec& a = r->apps[0];
  EXPECT_EQ(a.kill_timeout_ms, 700u);
  EXPECT_EQ(a.namespace_, "web");
  EXPECT_EQ(a.watch_paths, std::vector<std::string>{"src"});  // --watch alone keeps the file's
  EXPECT_EQ(a.out_file, dir.path() + "/file.log");            // -o applies to scripts only
  EXPECT_EQ(a.instances, "3");
  EXPECT_EQ(a.exec_mode, ExecMode::kCluster);
  EXPECT_EQ(a.increment_var, "PORT");
}

// PM2 7's start flags (lib/binaries/CLI.js): -x is fork mode whatever -i says, -c the cron,
// --node-args the interpreter's arguments, and the PM2.io/Node-only switches change nothing.
TEST(StartArgsTest, Pm2AliasesAndNoEffectFlags) {
  auto r = start({"app.js", "-i", "3", "-x", "-c", "0 3 * * *", "--node-args", "--a --b=1",
                  "--no-vizion", "--no-pmx", "--no-automation", "--no-treekill", "-f",
                  "--disable-source-map-support", "--source-map-support", "-s"});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 1u);
  const AppSpec& a = r->apps[0];
  EXPECT_EQ(a.exec_mode, ExecMode::kFork);
  EXPECT_EQ(a.instances, "3");
  EXPECT_EQ(a.cron_restart, "0 3 * * *");
  EXPECT_EQ(a.interpreter_args, (std::vector<std::string>{"--a", "--b=1"}));
  auto plain = start({"app.js"});
  ASSERT_TRUE(plain);
  auto ignored = start({"app.js", "--no-vizion", "--no-pmx", "--no-treekill", "--force"});
  ASSERT_TRUE(ignored);
  EXPECT_EQ(ignored->apps[0], plain->apps[0]);

  herd::test::TempDir dir;
  std::string path = dir.path() + "/eco.json";
  std::ofstream(path) << R"({apps: [{name: 'api', script: 'a.js', instances: 2,},]})";
  auto eco = start({path, "-x", "--interpreter-args=--c"});
  ASSERT_TRUE(eco) << eco.error().message();
  EXPECT_EQ(eco->apps[0].exec_mode, ExecMode::kFork);
  EXPECT_EQ(eco->apps[0].interpreter_args, std::vector<std::string>{"--c"});
}

// A setting given a flag in the table is documented in `herd start --help` too.
TEST(StartArgsTest, UsageNamesEveryFlagOfTheTable) {
  const std::string usage = start_usage();
  for (const manager::AppSetting& s : manager::app_settings()) {
    for (std::string_view flag : s.flag.names) {
      if (!flag.empty()) {
        EXPECT_NE(usage.find(flag), std::string::npos) << flag;
      }
    }
  }
}

// `pm2 start a.js b.js`: each script its own app, the flags applied to each; the targets keep
// their order and say which apps each made.
TEST(StartArgsTest, SeveralScriptsAreSeveralApps) {
  auto r = start({"a.js", "b.py", "-i", "2", "--", "--port", "1"});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 2u);
  EXPECT_EQ(r->apps[0].name, "a");
  EXPECT_EQ(r->apps[1].name, "b");
  for (const AppSpec& a : r->apps) {
    EXPECT_EQ(a.instances, "2");
    EXPECT_EQ(a.args, (std::vector<std::string>{"--port", "1"}));
  }
  ASSERT_EQ(r->targets.size(), 2u);
  EXPECT_EQ(r->targets[1].word, "b.py");
  EXPECT_FALSE(r->targets[1].file);
  EXPECT_EQ(r->targets[1].first, 1u);
  EXPECT_EQ(r->targets[1].count, 1u);
  auto named = start({"a.js", "b.js", "--name", "x"});
  ASSERT_FALSE(named);
  EXPECT_NE(named.error().context().find("--name"), std::string::npos);
  EXPECT_TRUE(is_ecosystem_target("-"));
  EXPECT_TRUE(is_ecosystem_target("ecosystem.config.js"));
  EXPECT_FALSE(is_ecosystem_target("app.js"));
}

// The PM2 flags of issue 20 (lib/binaries/CLI.js of PM2 7.0.4): --no-autostart,
// --shutdown-with-message, -l without a path, --ext, -u/--user/--uid, --gid, --filter-env (a
// name contained in the variable's, as lib/Common.js filterEnv; repeatable), --disable-logs,
// --attach; --no-daemon is refused with what to run instead.
TEST(StartArgsTest, Pm2FlagsOfAutostartLogsWatchIdentityAndEnv) {
  auto r = parse_start({"app.js", "--no-autostart", "--shutdown-with-message", "--ext", ".js,json",
                        "-u", "nobody", "--gid", "nogroup", "--filter-env", "SECRET",
                        "--filter-env=TOKEN", "--disable-logs", "--attach", "-l"},
                       {{"A_SECRET_B", "x"}, {"MY_TOKEN", "y"}, {"PATH", "/bin"}}, "/work");
  ASSERT_TRUE(r) << r.error().message();
  const AppSpec& a = r->apps[0];
  EXPECT_FALSE(a.autostart);
  EXPECT_TRUE(a.shutdown_with_message);
  EXPECT_EQ(a.watch_ext, (std::vector<std::string>{"js", "json"}));
  EXPECT_EQ(a.user, "nobody");
  EXPECT_EQ(a.group, "nogroup");
  EXPECT_EQ(a.env, (std::map<std::string, std::string>{{"PATH", "/bin"}}));
  EXPECT_EQ(a.out_file, "/dev/null");
  EXPECT_EQ(a.error_file, "/dev/null");
  EXPECT_EQ(a.log_file, manager::kDefaultLogFile);
  EXPECT_TRUE(r->attach);
  EXPECT_EQ(manager::to_json(a)["log_file"], true);

  auto with_path = start({"app.js", "--log", "all.log", "--uid", "1000"});
  ASSERT_TRUE(with_path) << with_path.error().message();
  EXPECT_EQ(with_path->apps[0].log_file, "/work/all.log");
  EXPECT_EQ(with_path->apps[0].user, "1000");
  EXPECT_FALSE(with_path->attach);

  for (const char* bad : {"--no-daemon", "--filter-env", "--ext"}) {
    auto refused = start({"app.js", bad});
    ASSERT_FALSE(refused) << bad;
  }
  auto no_daemon = start({"app.js", "--no-daemon"});
  EXPECT_NE(no_daemon.error().context().find("herd daemon --foreground"), std::string::npos);
  auto bad_ext = start({"app.js", "--ext", "js,a/b"});
  ASSERT_FALSE(bad_ext);
  EXPECT_NE(bad_ext.error().context().find("--ext: 'a/b' is not a file extension"),
            std::string::npos);
}

}  // namespace
}  // namespace herd::cli
