#include "app/app_spec.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <set>
#include <string>

namespace herd::manager {
namespace {

using nlohmann::json;

TEST(AppSpecTest, ResolvedInstances) {
  struct Case {
    const char* instances;
    int cpus;
    int want;
  };
  const Case cases[] = {
      {"1", 8, 1},  {"4", 2, 4},  {"max", 4, 4}, {"0", 4, 4},     {"-1", 4, 3},
      {"-1", 1, 1}, {"-8", 4, 1}, {"max", 0, 1}, {"bogus", 4, 1}, {"-0", 3, 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << c.instances << " on " << c.cpus);
    AppSpec spec;
    spec.instances = c.instances;
    EXPECT_EQ(spec.resolved_instances(c.cpus), c.want);
  }
}

TEST(AppSpecTest, ValidateInstances) {
  for (const char* good : {"max", "0", "1", "16", "-1", "+2"}) {
    EXPECT_TRUE(validate_instances(good)) << good;
  }
  for (const char* bad : {"", "MAX", "four", "1.5", "-", "4x", " 4", "99999999999"}) {
    auto s = validate_instances(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), EINVAL);
    EXPECT_NE(s.error().context().find("expected a number or \"max\""), std::string::npos);
  }
}

TEST(AppSpecTest, ParseSize) {
  struct Case {
    const char* text;
    std::uint64_t want;
  };
  const Case good[] = {
      {"0", 0},           {"1048576", 1048576}, {"512K", 512 << 10}, {"300M", 300ull << 20},
      {"1G", 1ull << 30}, {"10mb", 10 << 20},   {"2KB", 2048},       {"1T", 1ull << 40},
  };
  for (const Case& c : good) {
    auto n = parse_size(c.text);
    ASSERT_TRUE(n) << c.text << ": " << n.error().message();
    EXPECT_EQ(*n, c.want) << c.text;
  }
  for (const char* bad :
       {"", "M", "300X", "-1", "1.5G", "300 M", "99999999999999999999", "20000000000G"}) {
    auto n = parse_size(bad);
    ASSERT_FALSE(n) << bad;
    EXPECT_EQ(n.error().code(), EINVAL);
  }
}

TEST(AppSpecTest, ParseDuration) {
  struct Case {
    const char* text;
    std::uint64_t want;
  };
  const Case good[] = {
      {"0", 0},       {"1000", 1000},  {"500ms", 500}, {"1s", 1000}, {"1.5s", 1500},
      {"2m", 120000}, {"1h", 3600000}, {"30S", 30000}, {".5s", 500},
  };
  for (const Case& c : good) {
    auto n = parse_duration_ms(c.text);
    ASSERT_TRUE(n) << c.text << ": " << n.error().message();
    EXPECT_EQ(*n, c.want) << c.text;
  }
  for (const char* bad : {"", "s", "-1", "1d", "1 s", "1.2.3s", ".", "1e20"}) {
    EXPECT_FALSE(parse_duration_ms(bad)) << bad;
  }
}

TEST(AppSpecTest, ParseSignal) {
  struct Case {
    const char* text;
    int want;
  };
  const Case good[] = {
      {"SIGINT", SIGINT}, {"INT", SIGINT},      {"sigterm", SIGTERM},
      {"15", SIGTERM},    {"SIGUSR2", SIGUSR2}, {"kill", SIGKILL},
  };
  for (const Case& c : good) {
    auto n = parse_signal(c.text);
    ASSERT_TRUE(n) << c.text;
    EXPECT_EQ(*n, c.want) << c.text;
  }
  for (const char* bad : {"", "SIG", "SIGFOO", "0", "999", "-2", "INT "}) {
    EXPECT_FALSE(parse_signal(bad)) << bad;
  }
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(0), "");
}

TEST(AppSpecTest, SplitCommandLine) {
  struct Case {
    const char* text;
    std::vector<std::string> want;
  };
  const Case good[] = {
      {"", {}},
      {"  ", {}},
      {"--port 8080", {"--port", "8080"}},
      {"  a\t b  ", {"a", "b"}},
      {"'a b' c", {"a b", "c"}},
      {"\"a b\" \"\"", {"a b", ""}},
      {"x'y z'w", {"xy zw"}},
      {"a\\ b", {"a b"}},
      {"\"say \\\"hi\\\"\"", {"say \"hi\""}},
      {"'no \\escape'", {"no \\escape"}},
      {"\"keep \\n\"", {"keep \\n"}},
  };
  for (const Case& c : good) {
    auto words = split_command_line(c.text);
    ASSERT_TRUE(words) << c.text;
    EXPECT_EQ(*words, c.want) << c.text;
  }
  for (const char* bad : {"'open", "\"open", "trailing\\"}) {
    EXPECT_FALSE(split_command_line(bad)) << bad;
  }
}

TEST(AppSpecTest, DefaultAppName) {
  struct Case {
    const char* script;
    const char* want;
  };
  const Case cases[] = {
      {"app.js", "app"},
      {"./api/server.js", "server"},
      {"/usr/bin/python3.11", "python3"},
      {"./server", "server"},
      {"python3 -m http.server 8000", "python3"},
      {"/opt/app/run.sh --flag", "run"},
      {".env", ".env"},
      {"dir/", "dir"},
      {"", "app"},
      {"/", "app"},
  };
  for (const Case& c : cases) EXPECT_EQ(default_app_name(c.script), c.want) << c.script;
}

// Each value form a user may write, and what it becomes (as to_json writes it back).
TEST(AppSpecTest, SetAppFieldAcceptsPm2Forms) {
  struct Case {
    const char* key;
    const char* value;  // JSON
    const char* want;   // to_json(spec)[key], JSON
  };
  const Case cases[] = {
      {"name", "\"api\"", "\"api\""},
      {"namespace", "2048", "\"2048\""},
      {"args", "[\"--port\", 8080]", "[\"--port\",\"8080\"]"},
      {"args", "\"--port 80 'a b'\"", "[\"--port\",\"80\",\"a b\"]"},
      {"interpreter_args", "\"--max-old-space-size=512\"", "[\"--max-old-space-size=512\"]"},
      {"env", "{\"PORT\": 3000, \"DEBUG\": true, \"S\": \"x\"}",
       "{\"DEBUG\":\"true\",\"PORT\":\"3000\",\"S\":\"x\"}"},
      {"instances", "4", "4"},
      {"instances", "\"4\"", "4"},
      {"instances", "\"04\"", "4"},
      {"instances", "-1", "-1"},
      {"instances", "\"max\"", "\"max\""},
      {"instances", "0", "0"},
      {"exec_mode", "\"cluster\"", "\"cluster\""},
      {"exec_mode", "\"cluster_mode\"", "\"cluster\""},
      {"exec_mode", "\"fork_mode\"", "\"fork\""},
      {"listen", "\"0.0.0.0:8080\"", "[\"0.0.0.0:8080\"]"},
      {"listen", "8080", "[\"8080\"]"},
      {"listen", "[\":80\", \"unix:/tmp/s\"]", "[\":80\",\"unix:/tmp/s\"]"},
      {"socket_mode", "\"reuseport\"", "\"reuseport\""},
      {"autorestart", "false", "false"},
      {"autorestart", "\"false\"", "false"},
      {"autorestart", "\"yes\"", "true"},
      {"max_restarts", "3", "3"},
      {"max_restarts", "\"3\"", "3"},
      {"min_uptime", "\"1s\"", "1000"},
      {"min_uptime", "\"1000\"", "1000"},
      {"min_uptime", "1000", "1000"},
      {"min_uptime", "\"2m\"", "120000"},
      {"restart_delay", "250", "250"},
      {"exp_backoff_restart_delay", "100", "100"},
      {"stop_exit_codes", "0", "[0]"},
      {"stop_exit_codes", "[0, 2]", "[0,2]"},
      {"kill_timeout", "\"3s\"", "3000"},
      {"kill_signal", "\"SIGTERM\"", "\"SIGTERM\""},
      {"kill_signal", "\"term\"", "\"SIGTERM\""},
      {"kill_signal", "15", "\"SIGTERM\""},
      {"wait_ready", "true", "true"},
      {"listen_timeout", "8000", "8000"},
      {"time", "true", "true"},
      {"out_file", "\"/var/log/a.log\"", "\"/var/log/a.log\""},
      {"merge_logs", "true", "true"},
      {"log_max_size", "\"1M\"", "1048576"},
      {"log_max_size", "4096", "4096"},
      {"log_max_files", "2", "2"},
      {"max_memory_restart", "\"300M\"", "314572800"},
      {"max_memory_restart", "1024", "1024"},
      {"cron_restart", "\"0 3 * * *\"", "\"0 3 * * *\""},
      {"watch", "true", "true"},
      {"watch", "false", "false"},
      {"watch", "\"src\"", "[\"src\"]"},
      {"watch", "[\"src\", \"lib\"]", "[\"src\",\"lib\"]"},
      {"watch", "[]", "false"},
      {"ignore_watch", "\"node_modules\"", "[\"node_modules\"]"},
      {"instance_var", "\"INSTANCE_ID\"", "\"INSTANCE_ID\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << c.key << " = " << c.value);
    AppSpec spec;
    auto ok = set_app_field(&spec, c.key, json::parse(c.value));
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(to_json(spec)[c.key], json::parse(c.want));
  }
}

TEST(AppSpecTest, WrongTypesNameTheKey) {
  struct Case {
    const char* doc;
    const char* message;
  };
  const Case cases[] = {
      {R"({"instances": true})", "instances: expected a number or \"max\", got true"},
      {R"({"instances": "lots"})", "instances: expected a number or \"max\", got \"lots\""},
      {R"({"instances": 1.5})", "instances: expected a number or \"max\", got 1.5"},
      {R"({"exec_mode": "swarm"})", "exec_mode: expected \"fork\" or \"cluster\", got \"swarm\""},
      {R"({"autorestart": "maybe"})", "autorestart: expected true or false, got \"maybe\""},
      {R"({"max_restarts": -1})", "max_restarts: expected a number >= 0, got -1"},
      {R"({"min_uptime": "soon"})", "min_uptime: expected a duration"},
      {R"({"min_uptime": -5})", "min_uptime: expected a duration"},
      {R"({"max_memory_restart": "lots"})", "max_memory_restart: expected a size"},
      {R"({"args": {"a": 1}})", "args: expected an array or a string, got an object"},
      {R"({"args": [["nested"]]})", "args: expected an array of strings, got an array in it"},
      {R"({"args": "'unterminated"})", "args: unterminated '"},
      {R"({"env": ["A=1"]})", "env: expected an object of NAME: value, got an array"},
      {R"({"kill_signal": "SIGNOPE"})", "kill_signal: expected a signal name or number"},
      {R"({"socket_mode": "magic"})", "socket_mode: expected \"shared\" or \"reuseport\""},
      {R"({"stop_exit_codes": [0, 300]})", "stop_exit_codes: expected exit codes (0-255)"},
      {R"({"watch": 3.5})", "watch: expected true, false, a path or a list of paths"},
      {R"({"script": false})", "script: expected a string, got false"},
      {R"({"name": {"first": "a"}})", "name: expected a string, got an object"},
      {R"({"instance_var": ""})", "instance_var: expected an environment variable name"},
      {R"({"instance_var": "A=B"})", "instance_var: expected an environment variable name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.doc);
    auto spec = app_spec_from_json(json::parse(c.doc));
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().code(), EINVAL);
    EXPECT_NE(spec.error().context().find(c.message), std::string::npos) << spec.error().context();
  }
  auto not_object = app_spec_from_json(json::array());
  ASSERT_FALSE(not_object);
  EXPECT_NE(not_object.error().context().find("expected an app object"), std::string::npos);
}

TEST(AppSpecTest, InputErrorMessageDropsTheStrerrorOfRejectedValues) {
  auto bad = app_spec_from_json(json::parse(R"({"instances": "lots"})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(input_error_message(bad.error()), bad.error().context());
  EXPECT_EQ(input_error_message(bad.error()).find("Invalid argument"), std::string::npos);
  // Any other error keeps its reason.
  Error missing(ENOENT, "script not found: /nope");
  EXPECT_EQ(input_error_message(missing), "script not found: /nope: No such file or directory");
}

TEST(AppSpecTest, UnknownKeyIsEnoentForSetAndIgnoredByFromJson) {
  AppSpec spec;
  auto s = set_app_field(&spec, "instnces", 4);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ENOENT);
  EXPECT_FALSE(is_app_field("instnces"));
  EXPECT_TRUE(is_app_field("instances"));

  auto parsed = app_spec_from_json(json{{"script", "a.js"}, {"pm_id", 3}});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->script, "a.js");
}

TEST(AppSpecTest, NullAndMissingKeepDefaults) {
  auto parsed = app_spec_from_json(json{{"instances", nullptr}, {"kill_timeout", nullptr}});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, AppSpec());
  auto empty = app_spec_from_json(json::object());
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, AppSpec());
}

TEST(AppSpecTest, JsonKeysArePm2Names) {
  const std::set<std::string> want = {"name",
                                      "script",
                                      "args",
                                      "interpreter",
                                      "interpreter_args",
                                      "cwd",
                                      "env",
                                      "app_env",
                                      "namespace",
                                      "instances",
                                      "exec_mode",
                                      "listen",
                                      "socket_mode",
                                      "inject",
                                      "instance_var",
                                      "autorestart",
                                      "max_restarts",
                                      "min_uptime",
                                      "restart_delay",
                                      "exp_backoff_restart_delay",
                                      "stop_exit_codes",
                                      "kill_timeout",
                                      "kill_signal",
                                      "wait_ready",
                                      "listen_timeout",
                                      "time",
                                      "out_file",
                                      "error_file",
                                      "log_file",
                                      "merge_logs",
                                      "log_max_size",
                                      "log_max_files",
                                      "max_memory_restart",
                                      "cron_restart",
                                      "watch",
                                      "ignore_watch",
                                      "watch_delay"};
  std::set<std::string> got;
  const json j = to_json(AppSpec());
  for (const auto& [key, value] : j.items()) got.insert(key);
  EXPECT_EQ(got, want);
  std::set<std::string> names(app_field_names().begin(), app_field_names().end());
  EXPECT_EQ(names, want);
}

AppSpec everything_set() {
  AppSpec s;
  s.name = "api";
  s.script = "./server.py";
  s.args = {"--port", "8080", "a b"};
  s.interpreter = "python3";
  s.interpreter_args = {"-u"};
  s.cwd = "/srv/api";
  s.env = {{"PORT", "8080"}, {"EMPTY", ""}, {"UNICODE", "héllo"}};
  s.app_env = {{"PORT", "8080"}};
  s.namespace_ = "web";
  s.instances = "-1";
  s.exec_mode = ExecMode::kCluster;
  s.listen = {"0.0.0.0:8080", "unix:/tmp/api.sock"};
  s.socket_mode = "reuseport";
  s.instance_var = "INSTANCE_ID";
  s.autorestart = false;
  s.max_restarts = 3;
  s.min_uptime_ms = 2500;
  s.restart_delay_ms = 100;
  s.exp_backoff_restart_delay_ms = 150;
  s.stop_exit_codes = {0, 2};
  s.kill_timeout_ms = 5000;
  s.kill_signal = "SIGTERM";
  s.wait_ready = true;
  s.listen_timeout_ms = 8000;
  s.time = true;
  s.out_file = "/var/log/api.out";
  s.error_file = "/var/log/api.err";
  s.log_file = "/var/log/api.log";
  s.merge_logs = true;
  s.log_max_size = 1 << 20;
  s.log_max_files = 2;
  s.max_memory_restart = 300ull << 20;
  s.cron_restart = "0 3 * * *";
  s.watch = true;
  s.watch_paths = {"src", "lib"};
  s.ignore_watch = {"node_modules"};
  return s;
}

TEST(AppSpecTest, JsonRoundTripIsLossless) {
  AppSpec watch_cwd = everything_set();
  watch_cwd.watch_paths.clear();
  AppSpec max = AppSpec();
  max.instances = "max";
  for (const AppSpec& spec : {AppSpec(), everything_set(), watch_cwd, max}) {
    SCOPED_TRACE(to_json(spec).dump());
    // Through the text too, as dump.json and the control protocol carry it.
    auto back = app_spec_from_json(json::parse(to_json(spec).dump()));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, spec);
    EXPECT_EQ(to_json(*back), to_json(spec));
  }
}

}  // namespace
}  // namespace herd::manager
