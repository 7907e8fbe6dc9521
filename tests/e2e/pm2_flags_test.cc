// The flags and ecosystem keys PM2 users have in their deploy scripts and files, through the real
// CLI: start's short and long aliases, the PM2 flags that mean nothing under herd, --node-args,
// `ls --sort`, and ecosystem files as PM2 7 reads them (relaxed JSON, `pm2` for `apps`, `cmd`, a
// single app object, `namespace`). Each test says whether it follows PM2's documentation or
// what PM2 7.0.4 was seen doing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSleeper = "exec sleep 1000\n";

std::string cmdline_of(pid_t pid) {
  std::string raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw;
}

// The app names in the order `herd ls` prints their rows.
std::vector<std::string> ls_order(const std::string& table, const std::vector<std::string>& names) {
  std::vector<std::pair<std::size_t, std::string>> found;
  for (const std::string& n : names) {
    std::size_t at = table.find(" " + n + " ");
    if (at != std::string::npos) found.emplace_back(at, n);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [at, n] : found) out.push_back(n);
  return out;
}

// PM2 7.0.4 (lib/binaries/CLI.js): -c is --cron / --cron-restart, --node-args (alias
// --interpreter-args) go to the interpreter and show as pm2_env.node_args in jlist; --no-vizion,
// --no-pmx, --no-automation, --no-treekill, --(disable-)source-map-support and the like are
// accepted, and under herd have no effect.
TEST_F(HerdTest, StartTakesPm2FlagAliasesAndNodeArgs) {
  write_file(path("app.js"), "setInterval(() => {}, 1000);\n");
  CommandResult r = herd({"start", path("app.js"), "-n", "api", "-c", "0 3 * * *", "--node-args",
                          "--max-old-space-size=100 --no-warnings", "--no-vizion", "--no-pmx",
                          "--no-automation", "--no-treekill", "--disable-source-map-support",
                          "--source-map-support", "--no-color", "--trace", "--v8", "-f"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("api", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  Json env = instance(list, "api")["pm2_env"];
  EXPECT_EQ(env["cron_restart"], "0 3 * * *");
  Json args = Json::array({"--max-old-space-size=100", "--no-warnings"});
  EXPECT_EQ(env["node_args"], args);
  EXPECT_EQ(env["interpreter_args"], args);
  pid_t pid = instance(list, "api")["pid"].get<pid_t>();
  EXPECT_THAT(cmdline_of(pid), HasSubstr("--max-old-space-size=100 --no-warnings "));
  CommandResult d = herd({"describe", "api"});
  ASSERT_EQ(d.exit_code, 0) << d;
  EXPECT_THAT(d.out, HasSubstr("--max-old-space-size=100 --no-warnings"));

  // --interpreter-args, PM2's other spelling, in the --flag=value form.
  r = herd({"start", path("app.js"), "-n", "api2", "--interpreter-args=--no-deprecation"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("api2", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(instance(list, "api2")["pm2_env"]["node_args"], Json::array({"--no-deprecation"}));

  // A flag PM2 does not have either is still refused.
  r = herd({"start", path("app.js"), "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("unknown option '--no-such-flag'"));
}

// PM2 7.0.4: `-x` (--execute-command) sets exec_mode fork (lib/Common.js verifyConfs), so
// `-i 2 -x` runs two separate fork-mode copies.
TEST_F(HerdTest, ExecuteCommandFlagMeansForkMode) {
  std::string app = write_script("sleeper", kSleeper);
  CommandResult r = herd({"start", app, "-n", "forked", "-i", "2", "-x"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("forked", "online", 2, kWaitTimeout, &list)) << list.dump(1);
  for (const Json& p : instances(list, "forked")) EXPECT_EQ(p["pm2_env"]["exec_mode"], "fork_mode");
  r = herd({"start", app, "-n", "clustered", "-i", "2", "--execute-command"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("clustered", "online", 2, kWaitTimeout, &list)) << list.dump(1);
  for (const Json& p : instances(list, "clustered")) {
    EXPECT_EQ(p["pm2_env"]["exec_mode"], "fork_mode");
  }
}

// PM2 7.0.4 starts a second app of the same name with -f; herd's names are unique (every verb
// takes a name as a target), so -f is accepted and a second copy needs its own --name.
TEST_F(HerdTest, ForceFlagIsAcceptedButNamesStayUnique) {
  std::string app = write_script("sleeper", kSleeper);
  ASSERT_EQ(herd({"start", app, "-n", "one"}).exit_code, 0);
  ASSERT_TRUE(wait_status("one", "online"));
  CommandResult r = herd({"start", app, "-n", "one", "-f"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("already running"));
  r = herd({"start", app, "-n", "two", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_status("two", "online"));
}

// PM2 7.0.4 (lib/API/UX/pm2-ls.js): `ls` sorts by name ascending unless --sort
// <name|id|namespace|pid|memory|cpu|status|uptime>[:asc|:desc] says otherwise; an unknown field
// falls back to name.
TEST_F(HerdTest, LsSortsAsPm2Does) {
  std::string app = write_script("sleeper", kSleeper);
  for (const char* name : {"bravo", "alpha", "charlie"}) {
    ASSERT_EQ(herd({"start", app, "-n", name}).exit_code, 0);
    ASSERT_TRUE(wait_status(name, "online"));
  }
  const std::vector<std::string> names = {"alpha", "bravo", "charlie"};
  auto order = [&](const std::vector<std::string>& args) {
    CommandResult r = herd(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    return ls_order(r.out, names);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(order({"ls"}), (V{"alpha", "bravo", "charlie"}));
  EXPECT_EQ(order({"ls", "--sort", "name:desc"}), (V{"charlie", "bravo", "alpha"}));
  EXPECT_EQ(order({"ls", "--sort", "id"}), (V{"bravo", "alpha", "charlie"}));
  EXPECT_EQ(order({"list", "--sort=id:desc"}), (V{"charlie", "alpha", "bravo"}));
  EXPECT_EQ(order({"ls", "--sort", "bogus"}), (V{"alpha", "bravo", "charlie"}));
  CommandResult r = herd({"ls", "extra"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("unexpected argument 'extra'"));
}

// PM2 7.0.4 evaluates a .json ecosystem file as JavaScript (lib/Common.js parseConfig:
// vm.runInThisContext("(" + text + ")")): comments, trailing commas, unquoted keys and single
// quotes are accepted; this exact file started under PM2.
TEST_F(HerdTest, RelaxedJsonEcosystemAsPm2AcceptsIt) {
  write_script("sleeper", kSleeper);
  write_file(path("relaxed.json"),
             "// comment\n"
             "{\n"
             "  apps: [{\n"
             "    name: 'relaxed',   /* block */\n"
             "    script: \"sleeper\",\n"
             "    instances: 0x1,\n"
             "    namespace: 'api',\n"
             "  },],\n"
             "}\n");
  CommandResult r = herd({"start", path("relaxed.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("relaxed", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(instance(list, "relaxed")["pm2_env"]["namespace"], "api");
}

// PM2 7.0.4 on this file: "File bad.json malformated ... SyntaxError: Unexpected identifier
// 'script'" (line 4), exit 1. herd names the same place and what it expected.
TEST_F(HerdTest, JsonEcosystemPm2RejectsIsRefusedWithItsLine) {
  write_file(path("bad.json"),
             "{\n  apps: [{\n    name: \"bad\"\n    script: \"sleep\",\n  }]\n}\n");
  CommandResult r = herd({"start", path("bad.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("bad.json:4:5: "));
  EXPECT_THAT(r.err, HasSubstr("expected '}'"));
  // A value that only JavaScript can compute: PM2 evaluates it, herd says to use a .config.js.
  write_file(path("env.json"), "{apps: [{script: 'sleep', args: process.env.ARGS}]}\n");
  r = herd({"start", path("env.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("env.json:1:33: 'process' is not a value"));
  EXPECT_THAT(r.err, HasSubstr(".config.js"));
  EXPECT_TRUE(jlist().empty());
}

// PM2 7.0.4 (lib/API.js _startJson, lib/Common.js verifyConfs): `pm2` is read when there is no
// `apps`, `cmd` (and `command`) stands for `script`, and a file may hold a single app object.
// The first two files started under PM2 as written.
TEST_F(HerdTest, EcosystemPm2KeyCmdKeyAndSingleApp) {
  write_file(path("pm2key.json"),
             R"({"pm2": [{"name": "viapm2", "cmd": "sleep 1000"},
                         {"name": "viacommand", "command": "sleep 1000"}]})");
  CommandResult r = herd({"start", path("pm2key.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("viapm2", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  ASSERT_TRUE(wait_status("viacommand", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_THAT(instance(list, "viapm2")["pm2_env"]["pm_exec_path"].get<std::string>(),
              HasSubstr("sleep"));

  write_file(path("solo.json"), R"({"name": "solo", "cmd": "sleep 1000", "namespace": "batch"})");
  r = herd({"start", path("solo.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("solo", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(instance(list, "solo")["pm2_env"]["namespace"], "batch");
}

}  // namespace
}  // namespace herd::e2e
