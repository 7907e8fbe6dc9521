// What a PM2 user types as a target, and `start` of what already exists: ecosystem files as the
// target of restart/reload/stop/delete, script paths, namespaces, smart start, several scripts in
// one start, `start -` (stdin), startOrRestart/startOrReload, scale, and the jlist fields PM2's
// tools read. Each test says whether it follows PM2's documentation or what PM2 7.0.4 does (read
// in its lib/API.js and checked by running it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "e2e/herd_fixture.h"

extern char** environ;

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// pm2_env[key] of the one instance of `name` (null when absent).
Json env_field(const Json& list, const std::string& name, const char* key) {
  return HerdTest::instance(list, name)["pm2_env"].value(key, Json());
}

std::string status_of(const Json& list, const std::string& name) {
  Json v = env_field(list, name, "status");
  return v.is_string() ? v.get<std::string>() : "?";
}

int restarts_of(const Json& list, const std::string& name) {
  Json v = env_field(list, name, "restart_time");
  return v.is_number_integer() ? v.get<int>() : -1;
}

std::string env_of(const Json& list, const std::string& name, const std::string& var) {
  Json env = env_field(list, name, "env");
  return env.is_object() ? env.value(var, "") : "";
}

class TargetsTest : public HerdTest {
 protected:
  // An ecosystem file with two apps: api (namespace backend; X=dev, X=prod with --env
  // production) and worker.
  std::string write_ecosystem() {
    write_script("api.sh", "exec sleep 1000\n");
    write_script("worker.sh", "exec sleep 1000\n");
    std::string file = path("ecosystem.json");
    write_file(file, R"({"apps": [
      {"name": "api", "script": "api.sh", "namespace": "backend",
       "env": {"X": "dev"}, "env_production": {"X": "prod"}},
      {"name": "worker", "script": "worker.sh"}]})");
    return file;
  }

  // `herd <args>` with `input` on its stdin (the fixture's herd() gives /dev/null).
  CommandResult herd_with_stdin(const std::vector<std::string>& args, const std::string& input) {
    std::string in = path("stdin.txt");
    write_file(in, input);
    std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" < \"$HERD_E2E_IN\"",
                                     herd_bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      if (!kv.starts_with("HERD_HOME=")) env.push_back(kv);
    }
    env.push_back("HERD_HOME=" + home_);
    env.push_back("HERD_E2E_IN=" + in);
    Process p;
    EXPECT_TRUE(p.spawn(argv, env));
    bool done = p.wait_exit(kCommandTimeout);
    if (!done) p.signal(SIGKILL);
    EXPECT_TRUE(done);
    return p.result();
  }
};

// PM2's documented deploy step, `pm2 reload ecosystem.config.js --env production`, and
// `pm2 restart <file>` (lib/API.js _startJson): the file's running apps are restarted with their
// environment read again (env_production applied), and its apps that do not run are started
// ("Applications worker not running, starting...").
TEST_F(TargetsTest, EcosystemFileAsRestartAndReloadTarget) {
  std::string file = write_ecosystem();
  ASSERT_EQ(herd({"start", file, "--only", "api"}).exit_code, 0);
  Json list;
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(env_of(list, "api", "X"), "dev");

  CommandResult r = herd({"restart", file, "--env", "production"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("not running, starting: worker")) << r;
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list));
  ASSERT_TRUE(wait_status("worker", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(env_of(list, "api", "X"), "prod");
  EXPECT_EQ(restarts_of(list, "api"), 1);

  r = herd({"reload", file});  // without --env: env (X=dev) again
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(env_of(list, "api", "X"), "dev");
  EXPECT_EQ(restarts_of(list, "api"), 2);
  EXPECT_EQ(restarts_of(list, "worker"), 1);

  // `start` of a file whose apps run restarts them (PM2's start calls _startJson too).
  r = herd({"start", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(restarts_of(list, "api"), 3);
  EXPECT_EQ(list.size(), 2u);

  // PM2: "Using --env [env] without passing the ecosystem.config.js does not work", exit 1.
  r = herd({"restart", "api", "--env", "production"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("ecosystem file")) << r;
}

// `pm2 stop <file>` / `pm2 delete <file>` (lib/API.js actionFromJson): the file's apps that run
// are stopped or deleted; those not managed are skipped and the command still succeeds (PM2 7.0.4
// exits 0; herd also names them on stderr).
TEST_F(TargetsTest, EcosystemFileAsStopAndDeleteTarget) {
  std::string file = write_ecosystem();
  write_script("other.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", path("other.sh")}).exit_code, 0);
  ASSERT_EQ(herd({"start", file}).exit_code, 0);
  ASSERT_TRUE(wait_status("worker", "online"));

  CommandResult r = herd({"stop", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = jlist();
  EXPECT_EQ(status_of(list, "api"), "stopped");
  EXPECT_EQ(status_of(list, "worker"), "stopped");
  EXPECT_EQ(status_of(list, "other"), "online");

  r = herd({"delete", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  ASSERT_EQ(list.size(), 1u) << list.dump(1);
  EXPECT_EQ(list[0]["name"], "other");

  r = herd({"stop", file});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("not managed, skipped: api, worker")) << r;

  r = herd({"stop", path("missing.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("missing.json")) << r;
}

// PM2 7.0.4 (lib/Client.js getProcessIdByName, lib/API.js _operate): a target matches an app by
// name or by its script resolved against the CLI's directory (`pm2 stop app.js`); a word that
// names no app is tried as a namespace; a name wins over a namespace of the same word. An
// unknown target exits 1 with a message (PM2: "Process or Namespace x not found").
TEST_F(TargetsTest, ScriptPathAndNamespaceTargets) {
  write_script("a.sh", "exec sleep 1000\n");
  write_script("b.sh", "exec sleep 1000\n");
  write_script("c.sh", "exec sleep 1000\n");
  InDir in(home_);
  ASSERT_EQ(herd({"start", "a.sh", "--namespace", "api"}).exit_code, 0);
  ASSERT_EQ(herd({"start", "b.sh", "--namespace", "api"}).exit_code, 0);
  ASSERT_EQ(herd({"start", "c.sh", "--name", "api"}).exit_code, 0);
  ASSERT_TRUE(wait_status("a", "online"));
  ASSERT_TRUE(wait_status("api", "online"));

  CommandResult r = herd({"stop", "a.sh"});  // the script, relative to this directory
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = jlist();
  EXPECT_EQ(status_of(list, "a"), "stopped");
  EXPECT_EQ(status_of(list, "b"), "online");
  EXPECT_EQ(status_of(list, "api"), "online");

  r = herd({"stop", "api"});  // the app named api, not the namespace
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_EQ(status_of(list, "api"), "stopped");
  EXPECT_EQ(status_of(list, "b"), "online");

  ASSERT_EQ(herd({"delete", "api"}).exit_code, 0);
  r = herd({"restart", "api"});  // now the namespace: a and b
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("a", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(restarts_of(list, "a"), 1);
  EXPECT_EQ(restarts_of(list, "b"), 1);

  r = herd({"stop", path("b.sh"), "default"});  // several at once; "default": nothing else
  EXPECT_EQ(r.exit_code, 1) << r;               // no app is in namespace default any more
  r = herd({"stop", path("b.sh")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(status_of(jlist(), "b"), "stopped");

  for (const char* verb : {"stop", "restart", "reload", "delete", "reset", "describe"}) {
    r = herd({verb, "nosuch"});
    EXPECT_EQ(r.exit_code, 1) << verb << r;
    EXPECT_THAT(r.err, HasSubstr("nosuch")) << verb << r;
  }
}

// PM2 7.0.4 (lib/API.js _startScript): `pm2 start <name>` of an app it manages restarts it
// (starts it when stopped) instead of reading the name as a program; `pm2 start <id>` likewise;
// `pm2 start <namespace>` restarts the namespace.
TEST_F(TargetsTest, StartOfAnExistingNameOrIdRestartsIt) {
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--namespace", "front"}).exit_code, 0);
  ASSERT_TRUE(wait_status("web", "online"));
  ASSERT_EQ(herd({"stop", "web"}).exit_code, 0);

  CommandResult r = herd({"start", "web"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("web", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(list.size(), 1u);
  EXPECT_EQ(instance(list, "web")["pm_id"], 0);

  r = herd({"start", "0"});  // online: restarted
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("web", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(restarts_of(list, "web"), 2);

  r = herd({"start", "front"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("web", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(restarts_of(list, "web"), 3);
  EXPECT_EQ(list.size(), 1u);

  r = herd({"start", "7"});  // no such id: PM2 says "Process 7 not found", exit 1
  EXPECT_EQ(r.exit_code, 1) << r;
}

// PM2's docs (`pm2 start app.js worker.js`): several scripts in one start, each its own app; and
// `pm2 start -` reading a JSON ecosystem document from stdin (lib/binaries/CLI.js).
TEST_F(TargetsTest, SeveralScriptsAndStdin) {
  std::string a = write_script("one.sh", "exec sleep 1000\n");
  std::string b = write_script("two.sh", "exec sleep 1000\n");
  CommandResult r = herd({"start", a, b, "-i", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("one", "online"));
  ASSERT_TRUE(wait_status("two", "online"));

  r = herd({"start", a, b, "--name", "x"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--name")) << r;

  r = herd_with_stdin({"start", "-"}, R"({"apps": [{"name": "piped", "script": ")" + a + R"("}]})");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_status("piped", "online"));
  r = herd_with_stdin({"stop", "-"}, R"({"apps": [{"name": "piped", "script": ")" + a + R"("}]})");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(status_of(jlist(), "piped"), "stopped");

  r = herd_with_stdin({"start", "-"}, "{not json");
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("stdin")) << r;
}

// PM2's docs: startOrRestart / startOrReload / startOrGracefulReload <file> start the file's apps
// that do not run and restart (reload) those that do (lib/binaries/CLI.js: _startJson).
TEST_F(TargetsTest, StartOrRestartAndStartOrReload) {
  std::string file = write_ecosystem();
  CommandResult r = herd({"startOrRestart", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list));
  ASSERT_TRUE(wait_status("worker", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(restarts_of(list, "api"), 0);

  for (const char* verb : {"startOrRestart", "startOrReload", "startOrGracefulReload"}) {
    r = herd({verb, file, "--env", "production"});
    ASSERT_EQ(r.exit_code, 0) << verb << r;
  }
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(restarts_of(list, "api"), 3);
  EXPECT_EQ(env_of(list, "api", "X"), "prod");

  r = herd({"startOrRestart", "api"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("ecosystem file")) << r;
}

// PM2 7.0.4 (lib/API.js scale, checked by running it): scaling down deletes the oldest processes
// (lowest ids) first; instances added later get fresh ids and the lowest free NODE_APP_INSTANCE;
// scaling to the current count is "Nothing to do", exit 1.
TEST_F(TargetsTest, ScaleRemovesTheLowestIdsAndKeepsTheOthers) {
  std::string script = write_script("sc.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "-i", "3"}).exit_code, 0);
  ASSERT_TRUE(wait_status("sc", "online", 3));

  CommandResult r = herd({"scale", "sc", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = jlist();
  ASSERT_EQ(list.size(), 1u) << list.dump(1);
  EXPECT_EQ(list[0]["pm_id"], 2);
  EXPECT_EQ(list[0]["pm2_env"]["NODE_APP_INSTANCE"], 2);

  r = herd({"scale", "sc", "3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("sc", "online", 3, kWaitTimeout, &list));
  std::vector<Json> all = instances(list, "sc");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["pm_id"], 2);
  EXPECT_EQ(all[1]["pm_id"], 3);
  EXPECT_EQ(all[1]["pm2_env"]["NODE_APP_INSTANCE"], 0);
  EXPECT_EQ(all[2]["pm_id"], 4);
  EXPECT_EQ(all[2]["pm2_env"]["NODE_APP_INSTANCE"], 1);

  r = herd({"scale", "sc", "3"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("nothing to do")) << r;
  r = herd({"scale", "nosuch", "2"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("nosuch")) << r;
}

// The jlist fields PM2's tools read (PM2 7.0.4's jlist): pm_exec_path absolute (a program found
// in PATH by its full path), namespace ("default" when none was given), node_args (an array),
// vizion (false: herd keeps no versioning metadata; PM2 says true when it read a git checkout).
TEST_F(TargetsTest, JlistFieldsPm2ToolsRead) {
  ASSERT_EQ(herd({"start", "sleep", "--", "1000"}).exit_code, 0);
  Json list;
  ASSERT_TRUE(wait_status("sleep", "online", 1, kWaitTimeout, &list));
  const Json env = instance(list, "sleep")["pm2_env"];
  std::string exec_path = env.value("pm_exec_path", "");
  EXPECT_TRUE(exec_path.starts_with("/")) << exec_path;
  EXPECT_TRUE(exec_path.ends_with("/sleep")) << exec_path;
  EXPECT_EQ(env["namespace"], "default");
  EXPECT_TRUE(env["node_args"].is_array()) << env.dump(1);
  EXPECT_EQ(env["vizion"], false);
}

// PM2 7.0.4 (lib/Client.js executeRemote calls stopWatch on every stop): an app stopped stops
// being watched, and jlist says watch: false from then on, also after it is started again.
TEST_F(TargetsTest, StopTurnsWatchOff) {
  std::filesystem::create_directories(path("wapp"));
  std::string script = write_script("wapp/w.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--cwd", path("wapp"), "--watch"}).exit_code, 0);
  Json list;
  ASSERT_TRUE(wait_status("w", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(env_field(list, "w", "watch"), true);
  ASSERT_EQ(herd({"stop", "w"}).exit_code, 0);
  EXPECT_EQ(env_field(jlist(), "w", "watch"), false);
  ASSERT_EQ(herd({"start", "w"}).exit_code, 0);
  ASSERT_TRUE(wait_status("w", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(env_field(list, "w", "watch"), false);
}

}  // namespace
}  // namespace herd::e2e
