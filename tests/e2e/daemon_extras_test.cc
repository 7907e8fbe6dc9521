// The daemon's own log rotation, instance_var, memory right after start, CLI error wording, and
// `herd startup`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// NAME=value pairs of /proc/<pid>/environ.
std::map<std::string, std::string> environ_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::map<std::string, std::string> env;
  std::string kv;
  while (std::getline(in, kv, '\0')) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

TEST_F(HerdTest, HerdLogIsRotatedBySize) {
  const EnvVars limits{{"HERD_LOG_MAX_SIZE", "1K"}, {"HERD_LOG_MAX_FILES", "2"}};
  CommandResult r = herd({"ping"}, limits);  // the daemon starts with these limits
  ASSERT_EQ(r.exit_code, 0) << r;
  // A crash loop makes the daemon log a line per exit.
  std::string crasher = write_script("crasher", "exit 3\n");
  r = herd({"start", crasher, "--max-restarts", "1000", "--restart-delay", "1"}, limits);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_for([&] { return file_exists(path("herd.log.1")); }))
      << "herd.log is " << file_size(path("herd.log")) << " bytes";
  ASSERT_EQ(herd({"stop", "crasher"}).exit_code, 0);
  EXPECT_LE(file_size(path("herd.log")), 1024);
  EXPECT_LE(file_size(path("herd.log.1")), 1024);
  EXPECT_FALSE(file_exists(path("herd.log.2")));  // HERD_LOG_MAX_FILES=2: the current and one
  EXPECT_THAT(read_file(path("herd.log")) + read_file(path("herd.log.1")), HasSubstr("crasher"));
  EXPECT_EQ(herd({"ping"}).exit_code, 0);
}

TEST_F(HerdTest, InstanceVarNamesTheInstanceNumber) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  write_file(path("eco.json"), R"({"apps": [{"name": "iv", "script": ")" + script +
                                   R"(", "instances": 2, "instance_var": "INSTANCE_ID"}]})");
  CommandResult r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("iv", "online", 2));
  std::set<std::string> seen;
  for (const Json& i : instances(jlist(), "iv")) {
    pid_t pid = i["pid"];
    ASSERT_GT(pid, 0);
    auto env = environ_of(pid);
    std::string index = std::to_string(i["pm2_env"]["NODE_APP_INSTANCE"].get<int>());
    EXPECT_EQ(env["INSTANCE_ID"], index);
    EXPECT_EQ(env["HERD_INSTANCE"], index);             // always, whatever instance_var says
    if (std::getenv("NODE_APP_INSTANCE") == nullptr) {  // else frozen from the CLI's environment
      EXPECT_EQ(env.count("NODE_APP_INSTANCE"), 0u) << "renamed by instance_var";
    }
    seen.insert(index);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"0", "1"}));

  // By default, PM2's name.
  r = herd({"start", script, "-n", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto env = environ_of(instance(jlist(), "plain")["pid"].get<pid_t>());
  EXPECT_EQ(env["NODE_APP_INSTANCE"], "0");
  EXPECT_EQ(env["HERD_INSTANCE"], "0");

  // A name no environment can hold is refused.
  write_file(path("bad.json"), R"({"apps": [{"name": "bad", "script": ")" + script +
                                   R"(", "instance_var": "A=B"}]})");
  r = herd({"start", path("bad.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("instance_var"));
}

TEST_F(HerdTest, MemoryIsShownRightAfterStart) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  // The table `start` prints and the jlist right after it come before the daemon's next
  // once-a-second sample, in most runs; with or without it, memory is the process's, never 0.
  CommandResult r = herd({"start", script, "-n", "fresh", "-i", "3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, Not(HasSubstr(" 0b "))) << r;
  for (const Json& i : instances(jlist(), "fresh")) {
    ASSERT_GT(i["pid"].get<int>(), 0) << i.dump();
    EXPECT_GT(i["monit"]["memory"].get<std::uint64_t>(), 0u) << i.dump();
  }
}

TEST_F(HerdTest, ErrorsEndWithTheirMessageNotAStrerror) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"start"}, "herd: start needs a script, a command or an ecosystem file\n"},
      {{"start", "--instances", "abc", "sleep"},
       "herd: instances: expected a number or \"max\", got \"abc\"\n"},
      // (-x is PM2's --execute-command, a flag herd takes.)
      {{"start", "--bogus", "sleep"}, "herd: unknown option '--bogus' for start"},
      {{"start", "sleep", "--max-restarts", "many"},
       "herd: --max-restarts takes a whole number, not 'many'\n"},
      {{"signal", "SIGFOO", "all"}, "herd: unknown signal"},
      {{"stop", "nosuch"}, "herd: no app or id matches 'nosuch'"},
      {{"startup", "upstart"}, "herd: startup supports systemd only; 'upstart' is not"},
  };
  for (const Case& c : cases) {
    CommandResult r = herd(c.args);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r;
    EXPECT_THAT(r.err, Not(HasSubstr("Invalid argument"))) << r;
  }
}

TEST_F(HerdTest, StartupPrintsASystemdUnitForThisHome) {
  CommandResult r = herd({"startup"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("Type=forking\n"));
  EXPECT_THAT(r.out, HasSubstr("Environment=\"HERD_HOME=" + home_ + "\"\n"));
  EXPECT_THAT(r.out, HasSubstr("PIDFile=" + home_ + "/keeper.pid\n"));
  EXPECT_THAT(r.out, HasSubstr("ExecStart=\"" + herd_bin_ + "\" resurrect\n"));
  EXPECT_THAT(r.out, HasSubstr("ExecStop=\"" + herd_bin_ + "\" kill\n"));
  EXPECT_THAT(r.out, HasSubstr("systemctl enable herd-"));
  EXPECT_FALSE(file_exists(path("herd.pid"))) << "startup needs no daemon";

  r = herd({"startup", "systemd", "-u", "nobody", "--hp", "/srv/nobody"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("User=nobody\n"));
  EXPECT_THAT(r.out, HasSubstr("Environment=\"HERD_HOME=/srv/nobody/.herd\"\n"));
  EXPECT_THAT(r.out, HasSubstr("/etc/systemd/system/herd-nobody.service"));
  EXPECT_THAT(r.out, HasSubstr("After=network.target\n"));

  // PM2's --service-name names the unit (pm2-<user> by default) and --wait-ip starts it after
  // network-online.target (its systemd-online template); herd also says Wants= for it.
  r = herd({"startup", "--service-name", "web-apps", "--wait-ip"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("/etc/systemd/system/web-apps.service"));
  EXPECT_THAT(r.out, HasSubstr("systemctl enable web-apps.service"));
  EXPECT_THAT(r.out, HasSubstr("Wants=network-online.target\nAfter=network-online.target\n"));
  EXPECT_THAT(r.out, HasSubstr("--service-name web-apps --wait-ip --write"));
  EXPECT_THAT(r.out, Not(HasSubstr("After=network.target")));

  for (const std::vector<std::string>& bad : {std::vector<std::string>{"startup", "--bogus"},
                                              {"startup", "systemd", "openrc"},
                                              {"startup", "-u"},
                                              {"startup", "--service-name"},
                                              {"startup", "--service-name", "a/b"},
                                              {"unstartup", "--wait-ip"},
                                              {"unstartup", "launchd"},
                                              {"unstartup", "--write"}}) {
    r = herd(bad);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("herd: ")) << r;
    EXPECT_TRUE(r.out.empty()) << r;
  }
}

}  // namespace
}  // namespace herd::e2e
