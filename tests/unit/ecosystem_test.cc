#include "app/ecosystem.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

namespace herd::manager {
namespace {

constexpr EcosystemFormat kJson = EcosystemFormat::kJson;
constexpr EcosystemFormat kYaml = EcosystemFormat::kYaml;

Result<EcosystemResult> parse(std::string_view text, EcosystemFormat format,
                              const EcosystemOptions& opts = {}) {
  return parse_ecosystem(text, format, format == kJson ? "eco.json" : "eco.yaml", "/srv/app", opts);
}

bool has_warning(const EcosystemResult& r, const std::string& part) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

std::string all_warnings(const EcosystemResult& r) {
  std::string out;
  for (const std::string& w : r.warnings) out += w + "\n";
  return out;
}

// The same two apps in each of the document shapes and formats PM2 accepts.
TEST(EcosystemTest, ReadsEveryShapeAndFormat) {
  const char* docs[] = {
      R"({"apps": [{"name": "api", "script": "./server.py", "instances": "max"},
                   {"script": "worker.js", "args": "--queue jobs"}]})",
      R"([{"name": "api", "script": "./server.py", "instances": "max"},
          // a comment, as PM2 evaluates .json as JavaScript
          {"script": "worker.js", "args": ["--queue", "jobs"]}])",
  };
  const char* yaml_docs[] = {
      "apps:\n  - name: api\n    script: ./server.py\n    instances: max\n"
      "  - script: worker.js\n    args: --queue jobs\n",
      "- name: api\n  script: ./server.py\n  instances: max\n"
      "- script: worker.js\n  args: [--queue, jobs]\n",
  };
  std::vector<std::pair<std::string, EcosystemFormat>> inputs;
  for (const char* d : docs) inputs.emplace_back(d, kJson);
  for (const char* d : yaml_docs) inputs.emplace_back(d, kYaml);
  for (const auto& [text, format] : inputs) {
    SCOPED_TRACE(text);
    auto r = parse(text, format);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->warnings.empty()) << all_warnings(*r);
    ASSERT_EQ(r->apps.size(), 2u);
    EXPECT_EQ(r->apps[0].name, "api");
    EXPECT_EQ(r->apps[0].script, "./server.py");
    EXPECT_EQ(r->apps[0].instances, "max");
    EXPECT_EQ(r->apps[0].cwd, "/srv/app");  // the file's directory
    EXPECT_EQ(r->apps[1].name, "worker");   // the script's base name
    EXPECT_EQ(r->apps[1].args, (std::vector<std::string>{"--queue", "jobs"}));
  }
}

TEST(EcosystemTest, SingleAppObject) {
  for (const char* text : {R"({"script": "a.js", "name": "solo"})",
                           R"({"apps": {"script": "a.js", "name": "solo"}})"}) {
    auto r = parse(text, kJson);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->apps.size(), 1u);
    EXPECT_EQ(r->apps[0].name, "solo");
  }
}

TEST(EcosystemTest, Pm2ValueForms) {
  auto r = parse(R"(apps:
  - script: app.js
    exec_mode: cluster_mode
    instances: -1
    min_uptime: 1s
    max_memory_restart: 300M
    kill_timeout: "3000"
    watch: [src, lib]
    autorestart: false
    node_args: --max-old-space-size=512
    listen: 8080
  - instances: 4
    min_uptime: 1000
    watch: true
    exec: c.js
    exec_interpreter: python3
    out: logs/out.log
    error: /var/log/b.err
    combine_logs: true
    cron: "0 3 * * *"
)",
                 kYaml);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 2u);
  const AppSpec& a = r->apps[0];
  EXPECT_EQ(a.exec_mode, ExecMode::kCluster);
  EXPECT_EQ(a.instances, "-1");
  EXPECT_EQ(a.min_uptime_ms, 1000u);
  EXPECT_EQ(a.max_memory_restart, 300ull << 20);
  EXPECT_EQ(a.kill_timeout_ms, 3000u);
  EXPECT_TRUE(a.watch);
  EXPECT_EQ(a.watch_paths, (std::vector<std::string>{"src", "lib"}));
  EXPECT_FALSE(a.autorestart);
  EXPECT_EQ(a.interpreter_args, (std::vector<std::string>{"--max-old-space-size=512"}));
  EXPECT_EQ(a.listen, (std::vector<std::string>{"8080"}));
  const AppSpec& b = r->apps[1];
  EXPECT_EQ(b.instances, "4");
  EXPECT_EQ(b.min_uptime_ms, 1000u);
  EXPECT_TRUE(b.watch);
  EXPECT_TRUE(b.watch_paths.empty());
  EXPECT_EQ(b.script, "c.js");                     // exec is PM2's alias of script
  EXPECT_EQ(b.out_file, "/srv/app/logs/out.log");  // relative to cwd
  EXPECT_EQ(b.error_file, "/var/log/b.err");
  EXPECT_TRUE(b.merge_logs);
  EXPECT_EQ(b.cron_restart, "0 3 * * *");
  EXPECT_EQ(b.interpreter, "python3");
  EXPECT_EQ(b.exec_mode, ExecMode::kCluster);  // instances: 4 without exec_mode
}

TEST(EcosystemTest, ListenOrSeveralInstancesImplyCluster) {
  auto r = parse(R"({"apps": [{"script": "a", "listen": [":8080"]},
                              {"script": "b", "listen": [":8081"], "exec_mode": "fork"},
                              {"script": "c", "exec_mode": "cluster", "instances": 2},
                              {"script": "d", "instances": "max"},
                              {"script": "e", "instances": 1}]})",
                 kJson);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->apps[0].exec_mode, ExecMode::kCluster);
  EXPECT_EQ(r->apps[1].exec_mode, ExecMode::kFork);
  EXPECT_EQ(r->apps[2].exec_mode, ExecMode::kCluster);
  EXPECT_EQ(r->apps[3].exec_mode, ExecMode::kCluster);
  EXPECT_EQ(r->apps[4].exec_mode, ExecMode::kFork);
  // Cluster mode without `listen` is meaningful now (herd's bind library): no warning.
  EXPECT_FALSE(has_warning(*r, "cluster mode without")) << all_warnings(*r);
}

TEST(EcosystemTest, CwdAndPaths) {
  EcosystemOptions opts;
  opts.base_env = {{"HOME", "/home/u"}};
  auto r = parse(R"({"apps": [{"script": "a", "cwd": "sub/dir"},
                              {"script": "b", "cwd": "/abs", "out_file": "o.log",
                               "error_file": "~/b.err", "log_file": "../all.log"},
                              {"script": "c", "cwd": "~/c", "disable_logs": true}]})",
                 kJson, opts);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->apps[0].cwd, "/srv/app/sub/dir");
  EXPECT_EQ(r->apps[1].cwd, "/abs");
  EXPECT_EQ(r->apps[1].out_file, "/abs/o.log");
  EXPECT_EQ(r->apps[1].error_file, "/home/u/b.err");
  EXPECT_EQ(r->apps[1].log_file, "/all.log");
  EXPECT_EQ(r->apps[2].cwd, "/home/u/c");
  EXPECT_EQ(r->apps[2].out_file, "/dev/null");
  EXPECT_EQ(r->apps[2].error_file, "/dev/null");
}

TEST(EcosystemTest, EnvSelection) {
  const char* text = R"({"apps": [
    {"name": "api", "script": "a", "port": 3000,
     "env": {"NODE_ENV": "development", "A": "env", "SHELL_VAR": "env"},
     "env_production": {"NODE_ENV": "production", "B": 2}},
    {"name": "worker", "script": "w", "append_env_to_name": true, "filter_env": ["SECRET_"],
     "env": {"W": "1"}},
    {"name": "bare", "script": "b", "filter_env": true}]})";
  EcosystemOptions opts;
  opts.base_env = {{"SHELL_VAR", "shell"}, {"PATH", "/usr/bin"}, {"SECRET_KEY", "x"}};
  struct Case {
    const char* env_name;
    std::map<std::string, std::string> api, worker, bare;
    const char* worker_name;
  };
  const Case cases[] = {
      {"",
       {{"NODE_ENV", "development"},
        {"A", "env"},
        {"SHELL_VAR", "env"},
        {"PATH", "/usr/bin"},
        {"SECRET_KEY", "x"},
        {"PORT", "3000"}},
       {{"W", "1"}, {"SHELL_VAR", "shell"}, {"PATH", "/usr/bin"}},
       {},
       "worker"},
      {"production",
       {{"NODE_ENV", "production"},
        {"A", "env"},
        {"B", "2"},
        {"SHELL_VAR", "env"},
        {"PATH", "/usr/bin"},
        {"SECRET_KEY", "x"},
        {"PORT", "3000"}},
       {{"W", "1"}, {"SHELL_VAR", "shell"}, {"PATH", "/usr/bin"}},
       {},
       "worker-production"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.env_name);
    opts.env_name = c.env_name;
    auto r = parse(text, kJson, opts);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->apps.size(), 3u);
    EXPECT_EQ(r->apps[0].env, c.api);
    EXPECT_EQ(r->apps[1].env, c.worker);
    EXPECT_EQ(r->apps[2].env, c.bare);
    EXPECT_EQ(r->apps[1].name, c.worker_name);
  }
  opts.env_name = "staging";
  auto r = parse(text, kJson, opts);
  ASSERT_TRUE(r);
  EXPECT_TRUE(has_warning(*r, "--env staging: no app has env_staging")) << all_warnings(*r);
}

TEST(EcosystemTest, OnlyFilter) {
  const char* text = R"({"apps": [{"name": "api", "script": "a"}, {"name": "web", "script": "w"},
                                   {"script": "./jobs.py"}]})";
  struct Case {
    std::vector<std::string> only;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {{}, {"api", "web", "jobs"}},
      {{"web"}, {"web"}},
      {{"api,jobs"}, {"api", "jobs"}},
      {{"jobs", "api"}, {"api", "jobs"}},
  };
  for (const Case& c : cases) {
    EcosystemOptions opts;
    opts.only = c.only;
    auto r = parse(text, kJson, opts);
    ASSERT_TRUE(r) << r.error().message();
    std::vector<std::string> got;
    for (const AppSpec& a : r->apps) got.push_back(a.name);
    EXPECT_EQ(got, c.want);
  }
  EcosystemOptions opts;
  opts.only = {"api,nope", "gone"};
  auto r = parse(text, kJson, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context(),
            "eco.json: --only: no app named nope, gone (the file has: api, web, jobs)");
}

TEST(EcosystemTest, UnknownAndPm2OnlyKeysAreWarnedAbout) {
  auto r = parse(R"({"apps": [{
  "name": "api",
  "script": "a.js",
  "instnces": 4,
  "maxRestarts": 3,
  "source_map_support": true,
  "username": "www",
  "node_args": ["--inspect"],
  "interpreter_args": ["-u"],
  "log_file": true,
  "frobnicate": 1
}], "deploy": {"production": {}}})",
                 kJson);
  ASSERT_TRUE(r) << r.error().message();
  const char* want[] = {
      "eco.json:4:3: apps[0] (api): unknown key \"instnces\" (ignored; did you mean "
      "\"instances\"?)",
      "eco.json:5:3: apps[0] (api): unknown key \"maxRestarts\" (ignored; did you mean "
      "\"max_restarts\"?)",
      "eco.json:6:3: apps[0] (api): source_map_support is Node-specific; ignored",
      "eco.json:7:3: apps[0] (api): username is set by PM2 itself; use uid (or user) for the "
      "account the app runs as; ignored",
      "eco.json:8:3: apps[0] (api): \"node_args\" and \"interpreter_args\" both set "
      "interpreter_args; \"node_args\" is ignored",
      "eco.json:11:3: apps[0] (api): unknown key \"frobnicate\" (ignored)",
      "eco.json:12:5: deploy is PM2's deploy system, which herd does not have; ignored",
  };
  for (const char* w : want) EXPECT_TRUE(has_warning(*r, w)) << w << "\nin:\n" << all_warnings(*r);
  EXPECT_EQ(r->warnings.size(), std::size(want)) << all_warnings(*r);
  EXPECT_EQ(r->apps[0].interpreter_args, (std::vector<std::string>{"-u"}));
  EXPECT_EQ(r->apps[0].instances, "1");
  EXPECT_EQ(r->apps[0].log_file, kDefaultLogFile);  // PM2's default place (log_file: true)
}

TEST(EcosystemTest, WarningsInYamlNameTheLine) {
  auto r = parse(
      "apps:\n  - script: a.js\n    autorestrat: false\n    <<: {time: true}\n"
      "    script: b.js\n",
      kYaml);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(has_warning(*r,
                          "eco.yaml:3:5: apps[0] (b): unknown key \"autorestrat\" "
                          "(ignored; did you mean \"autorestart\"?)"))
      << all_warnings(*r);
  EXPECT_TRUE(has_warning(*r, "eco.yaml:5:5: apps[0].script is given twice")) << all_warnings(*r);
  EXPECT_EQ(r->apps[0].script, "b.js");
  EXPECT_TRUE(r->apps[0].time);  // from the merge key
}

TEST(EcosystemTest, YamlAnchorsAndMergeKeys) {
  auto r = parse(R"(defaults: &defaults
  instances: 2
  kill_timeout: 5s
  env: {LOG: info}
apps:
  - <<: *defaults
    script: a.py
  - <<: *defaults
    script: b.py
    instances: 1
    quoted: "4"
)",
                 kYaml);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 2u);
  EXPECT_EQ(r->apps[0].instances, "2");
  EXPECT_EQ(r->apps[0].kill_timeout_ms, 5000u);
  EXPECT_EQ(r->apps[0].env.at("LOG"), "info");
  EXPECT_EQ(r->apps[1].instances, "1");
  EXPECT_TRUE(has_warning(*r, "eco.yaml:1:1: unknown top-level key \"defaults\""))
      << all_warnings(*r);
}

// A broken file names the place (line:column) and, where it can, the key.
TEST(EcosystemTest, BrokenFilesNameTheLine) {
  struct Case {
    EcosystemFormat format;
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {kJson, "{\"apps\": [\n  {\"script\": \"a\",\n   \"watch\": tru}\n]}",
       "eco.json:3:13: 'tru' is not a value: expected a string, number, object, array, true, "
       "false or null"},
      {kJson, "{\"apps\": [\n  {\"script\": \"a\" \"name\": \"x\"}\n]}",
       "eco.json:2:18: syntax error while parsing object - unexpected string literal; expected "
       "'}' (in apps[0].script)"},
      // A trailing comma is fine (PM2 evaluates .json as JavaScript); a missing element is not.
      {kJson, "{\"apps\": [{\"script\": \"a\"},,]}",
       "eco.json:1:28: syntax error while parsing value - unexpected ']'"},
      {kJson, "", "eco.json:1:1: syntax error while parsing value - unexpected end of input"},
      {kJson, "{\"apps\": [{\"script\": \"a\"}]} extra", "eco.json:1:29: 'extra' is not a value"},
      {kYaml, "apps:\n  - script: a\n   name: b\n", "eco.yaml:3:4: end of sequence not found"},
      {kYaml, "apps:\n  - script: [a\n", "eco.yaml:3:1: "},
      {kYaml, "apps: [{script: a}]\n\tname: x\n", "eco.yaml:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = parse(c.text, c.format);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_TRUE(r.error().context().starts_with(c.message)) << r.error().context();
  }
}

TEST(EcosystemTest, WrongTypesNameTheAppAndKey) {
  struct Case {
    EcosystemFormat format;
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {kJson, "{\"apps\": [\n {\"script\": \"a\"},\n {\"script\": \"b\", \"instances\": true}]}",
       "eco.json:3:18: apps[1].instances: expected a number or \"max\", got true"},
      {kYaml, "apps:\n  - script: a\n  - script: b\n    instances: yes please\n",
       "eco.yaml:4:5: apps[1].instances: expected a number or \"max\", got \"yes please\""},
      {kYaml, "apps:\n  - script: a\n    min_uptime: soon\n",
       "eco.yaml:3:5: apps[0].min_uptime: expected a duration"},
      {kYaml, "apps:\n  - script: a\n    node_args: {x: 1}\n",
       "eco.yaml:3:5: apps[0].node_args: expected an array or a string, got an object"},
      {kJson, "{\"apps\": [{\"script\": \"a\", \"env_production\": [1]}]}",
       "eco.json:1:27: apps[0].env_production: expected an object"},
      {kJson, "{\"apps\": [{\"script\": \"a\", \"env\": \"A=1\"}]}",
       "eco.json:1:27: apps[0].env: expected an object"},
      {kJson, "{\"apps\": [{\"script\": \"a\", \"port\": true}]}",
       "eco.json:1:27: apps[0].port: expected a port number"},
      {kJson, "{\"apps\": [{\"script\": \"a\", \"filter_env\": 3}]}",
       "eco.json:1:27: apps[0].filter_env: expected true, false"},
      {kJson, "{\"apps\": [\n  {\"script\": \"a\"},\n  {\"name\": \"b\"}]}",
       "eco.json:3:3: apps[1]: script is required"},
      {kYaml, "apps:\n  - script: a\n  - name: b\n    script: \"\"\n",
       "eco.yaml:3:5: apps[1]: script is required"},
      {kJson, "{\"apps\": [\"a.js\"]}", "eco.json:1:11: apps[0]: expected an app object"},
      {kJson, "{\"apps\": 3}", "eco.json:1:2: apps: expected a list of apps, got 3"},
      {kJson, "{\"apps\": []}", "eco.json: no apps in the file"},
      {kJson, "{\"name\": \"x\"}", "eco.json: no apps: expected {\"apps\": [...]}"},
      {kJson, "42", "eco.json: no apps"},
      {kYaml, "# only a comment\n", "eco.yaml: the file is empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = parse(c.text, c.format);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_TRUE(r.error().context().starts_with(c.message)) << r.error().context();
  }
}

// Found by fuzz/ecosystem_fuzz.cc: YAML (unlike JSON) takes any bytes, and a message that shows a
// value which is not UTF-8 used to throw from nlohmann's dump() (type_error 316) out of
// parse_ecosystem, ending `herd start` with an uncaught exception. The bytes are shown as U+FFFD.
TEST(EcosystemTest, ValuesThatAreNotUtf8AreShownNotThrown) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"apps:\n  - script: a\n    instances: \"9\xb8"
       "9\"\n",
       "eco.yaml:3:5: apps[0].instances: expected a number or \"max\", got \"9\xef\xbf\xbd"
       "9\""},
      {"apps:\n  - script: a\n    kill_timeout: \xff\n", "eco.yaml:3:5: apps[0].kill_timeout: "},
      {"apps:\n  - \"\xc3\"\n",
       "eco.yaml:2:5: apps[0]: expected an app object, got \"\xef\xbf\xbd\""},
      {"apps: \"\xc3\"\n", "eco.yaml:1:1: apps: expected a list of apps, got \"\xef\xbf\xbd\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = parse(c.text, kYaml);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().context().starts_with(c.message)) << r.error().context();
  }
  // An env value that is not a string is written as JSON: the bytes become U+FFFD there too.
  auto env = parse("apps:\n  - script: a\n    env: {A: [\"\xc3\"]}\n", kYaml);
  ASSERT_TRUE(env) << env.error().message();
  EXPECT_EQ(env->apps.at(0).app_env.at("A"), "[\"\xef\xbf\xbd\"]");
}

// Positions are tracked incrementally; a late line in a large file must still be right, and
// loading must stay fast (one pass, not one per key).
TEST(EcosystemTest, LineNumbersHoldInLargeFiles) {
  std::string text = "{\"apps\": [\n";
  for (int i = 0; i < 3000; ++i)
    text += "  {\"name\": \"a" + std::to_string(i) + "\", \"script\": \"x\"},\n";
  text += "  {\"script\": \"x\", \"watch\": 1.5}\n]}\n";
  auto r = parse(text, kJson);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().context().starts_with("eco.json:3002:19: apps[3000].watch: "))
      << r.error().context();
}

// Every prefix of a valid file either loads or fails with a message that names the file; none
// crashes (the sanitizer build makes this a memory-safety check too).
TEST(EcosystemTest, EveryTruncationFailsCleanly) {
  const std::string json_text =
      R"({"apps": [{"name": "api", "script": "s.py", "env": {"A": "1"}, "args": ["x", 2],
                    "instances": "max", "watch": ["a"]}]})";
  const std::string yaml_text =
      "apps:\n  - name: api\n    script: s.py\n    env: {A: '1'}\n    args: [x, 2]\n"
      "    instances: max\n    watch:\n      - a\n";
  for (const auto& [text, format] : {std::pair{json_text, kJson}, std::pair{yaml_text, kYaml}}) {
    for (std::size_t n = 0; n <= text.size(); ++n) {
      auto r = parse(std::string_view(text).substr(0, n), format);
      if (!r) {
        EXPECT_TRUE(r.error().context().starts_with(format == kJson ? "eco.json" : "eco.yaml"))
            << r.error().context();
      }
    }
    auto full = parse(text, format);
    ASSERT_TRUE(full) << full.error().message();
    EXPECT_EQ(full->apps.at(0).args, (std::vector<std::string>{"x", "2"}));
  }
}

TEST(EcosystemTest, LooksLikeEcosystem) {
  struct Case {
    const char* arg;
    bool want;
  };
  const Case cases[] = {
      {"ecosystem.config.js", true},
      {"./deploy/pm2.config.cjs", true},
      {"app.config.mjs", true},
      {"ecosystem.json", true},
      {"apps.yaml", true},
      {"/etc/herd/apps.yml", true},
      {"app.js", false},
      {"server", false},
      {"python3 -m x", false},
      {".json", false},
      {"config.js.bak", false},
      {"main.py", false},
  };
  for (const Case& c : cases) EXPECT_EQ(looks_like_ecosystem(c.arg), c.want) << c.arg;
  EXPECT_EQ(ecosystem_format("a.yml"), kYaml);
  EXPECT_EQ(ecosystem_format("a.config.cjs"), EcosystemFormat::kJavaScript);
  EXPECT_EQ(ecosystem_format("a.txt"), std::nullopt);
}

}  // namespace
}  // namespace herd::manager
