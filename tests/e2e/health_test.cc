// Health checks (docs/health-checks.md): liveness replaces an instance whose check fails, as a
// crash would; readiness gates launching and a reload's takeover; bad checks fail with a reason
// and never hurt the daemon. The apps are the test binary's health_server role (health_roles.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "e2e/cluster_mode_fixture.h"
#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// A base for per-instance health ports (docs/health-checks.md): instance i is probed on base + i,
// a reload's replacement on base + 1024 + i. A port the kernel picks is free, its neighbours
// need not be: each of the `instances` slots' two ports is checked too.
int free_health_ports(int instances) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int base = free_port();
    bool all = base + 1024 + instances < 65536;
    for (int i = 0; all && i < instances; ++i) {
      all = port_is_free(base + i) && port_is_free(base + 1024 + i);
    }
    if (all) return base;
  }
  ADD_FAILURE() << "no run of free health ports";
  return free_port();
}

class HealthTest : public HerdTest {
 protected:
  // Starts health_server as `name` on a free port with `check`, plus `env`.
  CommandResult start_server(const std::string& name, const std::string& check, EnvVars env = {},
                             std::vector<std::string> extra = {}) {
    port_ = free_port();
    env.push_back({kRoleVar, "health_server"});
    env.push_back({"PORT", std::to_string(port_)});
    env.push_back({kFileVar, path("fail")});
    std::vector<std::string> args = {"start", test_binary(), "-n", name, "--health-check", check};
    args.insert(args.end(), extra.begin(), extra.end());
    return herd(args, env);
  }
  // pm2_env.health of the one instance of `name` (an empty object without one).
  Json health(const Json& list, const std::string& name) {
    Json p = instance(list, name);
    return p["pm2_env"].contains("health") ? p["pm2_env"]["health"] : Json::object();
  }
  bool wait_health(const std::string& name, const std::string& status, Json* last = nullptr) {
    return wait_jlist(
        [&](const Json& l) {
          Json h = health(l, name);
          return instance(l, name)["pm2_env"]["status"] == "online" &&
                 h.value("status", "") == status;
        },
        kWaitTimeout, last);
  }
  // Waits for `name`'s process to be another than `old`; returns the instance then.
  Json wait_replaced(const std::string& name, pid_t old) {
    Json last;
    EXPECT_TRUE(wait_jlist(
        [&](const Json& l) {
          Json p = instance(l, name);
          return p["pid"].get<pid_t>() > 0 && p["pid"].get<pid_t>() != old &&
                 p["pm2_env"]["restart_time"].get<int>() >= 1;
        },
        kWaitTimeout, &last))
        << last.dump(2);
    return instance(last, name);
  }
  int port_ = 0;
};

TEST_F(HealthTest, HttpLivenessReplacesAnInstanceWhoseCheckFails) {
  CommandResult r = start_server("web", "http=/health,interval=300ms,failures=2,timeout=2s");
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_health("web", "healthy", &list)) << list.dump(2);
  Json h = health(list, "web");
  EXPECT_EQ(h["last_result"], "HTTP 200");
  EXPECT_EQ(h["port"], port_);
  EXPECT_EQ(instance(list, "web")["pm2_env"]["env"]["HERD_HEALTH_PORT"], std::to_string(port_));
  pid_t old = instance(list, "web")["pid"].get<pid_t>();
  CommandResult m = herd({"metrics"});
  EXPECT_THAT(m.out, HasSubstr("herd_process_healthy{app=\"web\",id=\"0\"} 1")) << m;
  EXPECT_THAT(m.out, HasSubstr("herd_health_check_duration_seconds{app=\"web\",id=\"0\"}")) << m;

  write_file(path("fail"), "");
  Json p = wait_replaced("web", old);
  ::unlink(path("fail").c_str());
  EXPECT_THAT(p["pm2_env"].value("restart_reason", ""),
              HasSubstr("liveness http check failed 2 times (last: HTTP 500)"));
  EXPECT_TRUE(wait_for([&] {
    return read_file(path("herd.log"))
               .find("app web (id 0) pid " + std::to_string(old) +
                     ": liveness http check failed 2 times (last: HTTP 500), restarting") !=
           std::string::npos;
  })) << read_file(path("herd.log"));
  r = herd({"describe", "web"});
  EXPECT_THAT(r.out, HasSubstr("last health restart"));
  EXPECT_THAT(r.out, HasSubstr("HTTP 500"));
  EXPECT_THAT(r.out, HasSubstr("http GET 127.0.0.1:$PORT/health every 300ms"));
  ASSERT_TRUE(wait_health("web", "healthy", &list)) << list.dump(2);
}

TEST_F(HealthTest, TcpLivenessReplacesAnInstanceThatStopsListening) {
  CommandResult r =
      start_server("tcpapp", "tcp,interval=300ms,failures=2", {{"HEALTH_MODE", "tcp"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_health("tcpapp", "healthy", &list)) << list.dump(2);
  pid_t old = instance(list, "tcpapp")["pid"].get<pid_t>();
  write_file(path("fail"), "");
  Json p = wait_replaced("tcpapp", old);
  ::unlink(path("fail").c_str());
  EXPECT_THAT(p["pm2_env"].value("restart_reason", ""),
              HasSubstr("tcp check failed 2 times (last: connect: Connection refused)"));
}

TEST_F(HealthTest, ExecLivenessRunsTheCommandWithTheInstanceEnvironment) {
  std::string script =
      write_script("check.sh",
                   "echo \"$HERD_INSTANCE $HERD_PID $PORT\" > \"$HERD_E2E_FILE.env\"\n"
                   "test ! -e \"$HERD_E2E_FILE\"\n");
  CommandResult r = start_server("execapp", "interval=300ms,failures=2,exec=" + script);
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_health("execapp", "healthy", &list)) << list.dump(2);
  pid_t old = instance(list, "execapp")["pid"].get<pid_t>();
  EXPECT_EQ(read_file(path("fail.env")),
            "0 " + std::to_string(old) + " " + std::to_string(port_) + "\n");
  write_file(path("fail"), "");
  Json p = wait_replaced("execapp", old);
  ::unlink(path("fail").c_str());
  EXPECT_THAT(p["pm2_env"].value("restart_reason", ""),
              HasSubstr("exec check failed 2 times (last: exit code 1)"));
  expect_no_zombies();
}

TEST_F(HealthTest, AHungInstanceIsCaughtByItsLivenessCheck) {
  CommandResult r =
      start_server("hang", "http=/,interval=300ms,timeout=500ms,failures=2", {}, {"-k", "500"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_health("hang", "healthy", &list)) << list.dump(2);
  pid_t old = instance(list, "hang")["pid"].get<pid_t>();
  auto stopped = proc_id(old);
  ASSERT_TRUE(stopped.has_value());
  ASSERT_EQ(::kill(old, SIGSTOP), 0);
  Json p = wait_replaced("hang", old);
  // Never leave a stopped process behind, whatever happened.
  if (!dead(*stopped)) ::kill(old, SIGCONT);
  EXPECT_THAT(p["pm2_env"].value("restart_reason", ""),
              HasSubstr("http check failed 2 times (last: timed out after 500ms)"));
  EXPECT_TRUE(wait_for([&] { return dead(*stopped); })) << "the hung process was not killed";
  ASSERT_TRUE(wait_health("hang", "healthy", &list)) << list.dump(2);
}

TEST_F(HealthTest, ReadinessOnlyCheckMarksAnInstanceUnhealthyWithoutRestartingIt) {
  CommandResult r = start_server("ro", "http=/,interval=300ms,failures=2,liveness=false");
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_health("ro", "healthy", &list)) << list.dump(2);
  pid_t pid = instance(list, "ro")["pid"].get<pid_t>();
  write_file(path("fail"), "");
  ASSERT_TRUE(wait_health("ro", "unhealthy", &list)) << list.dump(2);
  EXPECT_EQ(instance(list, "ro")["pid"], pid);
  EXPECT_EQ(instance(list, "ro")["pm2_env"]["restart_time"], 0);
  r = herd({"ls"});
  EXPECT_THAT(r.out, HasSubstr("online (unhealthy)")) << r;
  CommandResult m = herd({"metrics"});
  EXPECT_THAT(m.out, HasSubstr("herd_process_healthy{app=\"ro\",id=\"0\"} 0")) << m;
  ::unlink(path("fail").c_str());
  ASSERT_TRUE(wait_health("ro", "healthy", &list)) << list.dump(2);
  EXPECT_EQ(instance(list, "ro")["pid"], pid);
}

// Cluster mode: each instance is probed on its own port (HERD_HEALTH_PORT); a reload's
// replacement on the slot's other one. A replacement that never passes aborts the reload.
TEST_F(HealthTest, ReloadWaitsForTheReplacementToPassAndAbortsWhenItNeverDoes) {
  int hp = free_health_ports(1);
  std::string eco = path("eco.json");
  Json app = {
      {"name", "rl"},
      {"script", test_binary()},
      {"exec_mode", "cluster"},
      {"instances", 1},
      {"inject", false},
      {"env",
       {{"HERD_TEST_ROLE", "health_server"},
        {"HEALTH_PORT_VAR", "HERD_HEALTH_PORT"},
        {"HEALTH_BROKEN_IF", path("broken")}}},
      {"health_check", {{"http", "/"}, {"port", hp}, {"interval", "300ms"}, {"failures", 2}}}};
  write_file(eco, Json{{"apps", Json::array({app})}}.dump());
  CommandResult r = herd({"start", eco});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_health("rl", "healthy", &list)) << list.dump(2);
  EXPECT_EQ(health(list, "rl")["port"], hp);
  pid_t first = instance(list, "rl")["pid"].get<pid_t>();

  r = herd({"reload", "rl"});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  pid_t second = instance(list, "rl")["pid"].get<pid_t>();
  EXPECT_NE(second, first);
  EXPECT_EQ(health(list, "rl")["status"], "healthy") << list.dump(2);
  EXPECT_EQ(health(list, "rl")["port"], hp + 1024);

  write_file(path("broken"), "");
  r = herd({"reload", "rl"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.out + r.err, HasSubstr("HTTP 503")) << r;
  list = jlist();
  Json p = instance(list, "rl");
  EXPECT_EQ(p["pid"], second) << "the old instance must keep serving";
  EXPECT_EQ(p["pm2_env"]["status"], "online");
  EXPECT_EQ(health(list, "rl")["status"], "healthy");
  std::string err;
  EXPECT_THAT(exchange(hp + 1024, "GET / HTTP/1.0\r\n\r\n", 10s, &err),
              HasSubstr(std::to_string(second)))
      << err;
}

// A reload gated on readiness fails no request: each replacement takes over only once healthy.
TEST_F(HealthTest, ReloadOfAHealthyClusterAppUnderTrafficFailsNoRequest) {
  int port = free_port();
  int hp = free_health_ports(2);
  Json app = {
      {"name", "rt"},
      {"script", test_binary()},
      {"exec_mode", "cluster"},
      {"instances", 2},
      {"inject", false},
      {"listen", Json::array({"127.0.0.1:" + std::to_string(port)})},
      {"env", {{"HERD_TEST_ROLE", "health_server"}, {"HEALTH_PORT_VAR", "HERD_HEALTH_PORT"}}},
      {"health_check", {{"http", "/"}, {"port", hp}, {"interval", "300ms"}, {"failures", 2}}}};
  write_file(path("eco.json"), Json{{"apps", Json::array({app})}}.dump());
  CommandResult r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        auto all = instances(l, "rt");
        if (all.size() != 2) return false;
        for (const Json& p : all) {
          if (p["pm2_env"].value("health", Json::object()).value("status", "") != "healthy") {
            return false;
          }
        }
        return true;
      },
      kWaitTimeout, &list))
      << list.dump(2);
  std::set<std::string> before = pids_of(instances(list, "rt"));
  Traffic traffic(port, "");
  ASSERT_TRUE(traffic.wait_more(20)) << traffic.failures();
  r = herd({"reload", "rt"});
  EXPECT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(traffic.wait_more(20)) << traffic.failures();
  traffic.stop();
  EXPECT_EQ(traffic.failed(), 0) << traffic.failures();
  list = jlist();
  for (const std::string& pid : pids_of(instances(list, "rt"))) EXPECT_FALSE(before.count(pid));
  for (const Json& p : instances(list, "rt")) {
    EXPECT_EQ(p["pm2_env"]["health"]["status"], "healthy") << p.dump(2);
  }
}

TEST_F(HealthTest, BadChecksAreRefusedWithTheKeyAndValue) {
  CommandResult r = herd({"start", "sleep", "--health-check", "http=/,interval=0", "--", "60"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("interval: expected a duration above 0, got \"0\"")) << r;
  r = herd({"start", "sleep", "--health-check", "port=3000", "--", "60"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("give one of http, tcp or exec")) << r;
  r = herd({"start", "sleep", "--health-check", "tcp,port=70000", "--", "60"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("port: expected a port 1..65535, got \"70000\"")) << r;
  std::string eco = path("bad.json");
  write_file(eco, R"({"apps": [{"name": "b", "script": "sleep", "args": "60",
                   "health_check": {"http": "/", "exec": "true"}}]})");
  r = herd({"start", eco});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("health_check")) << r;
  EXPECT_THAT(r.err, HasSubstr("give only one of http, tcp or exec")) << r;
  write_file(eco, R"({"apps": [{"name": "c", "script": "sleep", "args": "60", "instances": 2,
                   "exec_mode": "cluster", "health_check": {"tcp": true}}]})");
  r = herd({"start", eco});
  EXPECT_THAT(r.out + r.err, HasSubstr("in cluster mode give health_check.port")) << r;
  EXPECT_EQ(herd({"ping"}).exit_code, 0);
}

// Each failure has its reason, and the daemon answers throughout (readiness-only checks: the
// instances stay launching and nothing restarts).
TEST_F(HealthTest, FailingChecksSayWhyAndTheDaemonStaysResponsive) {
  struct Case {
    std::string name, mode, check, reason;
  } cases[] = {
      {"missing", "http", "liveness=false,interval=300ms,exec=/nonexistent/check --now",
       "exec /nonexistent/check: No such file or directory"},
      {"refused", "http", "http=/,port=1,liveness=false,interval=300ms",
       "connect: Connection refused"},
      {"garbage", "garbage", "http=/,liveness=false,interval=300ms",
       "not an HTTP response ('SSH-2.0-nope')"},
      {"silent", "silent", "http=/,liveness=false,interval=300ms,timeout=400ms",
       "timed out after 400ms"},
  };
  for (const Case& c : cases) {
    CommandResult r = start_server(c.name, c.check, {{"HEALTH_MODE", c.mode}});
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  for (const Case& c : cases) {
    Json last;
    EXPECT_TRUE(wait_jlist(
        [&](const Json& l) { return health(l, c.name).value("last_failure", "") == c.reason; },
        kWaitTimeout, &last))
        << c.name << ": " << health(last, c.name).dump(2);
    EXPECT_EQ(instance(last, c.name)["pm2_env"]["restart_time"], 0) << c.name;
  }
  EXPECT_EQ(herd({"ls"}).exit_code, 0);
  CommandResult r = herd({"describe", "garbage"});
  EXPECT_THAT(r.out, HasSubstr("not an HTTP response")) << r;
}

}  // namespace
}  // namespace herd::e2e
