// The watchdog, hooks and hook_timeout settings: the forms they take in ecosystem files and on
// `herd start`'s command line, and the errors that name the key or flag and the value.
#include <gtest/gtest.h>

#include <string>

#include "app/app_settings.h"
#include "app/app_spec.h"
#include "unit/setting_errors_util.h"

namespace herd::manager {
namespace {

using nlohmann::json;

using test::flag_error;
using test::json_error;

TEST(WatchdogHooksSettingsTest, WatchdogTakesDurations) {
  struct Case {
    json value;
    std::uint64_t ms;
  } cases[] = {{"10s", 10'000}, {"500ms", 500}, {1500, 1500}, {"2m", 120'000},
               {0, 0},          {"0", 0},       {false, 0},   {"off", 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.dump());
    auto spec = app_spec_from_json({{"script", "x"}, {"watchdog", c.value}});
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->watchdog_ms, c.ms);
  }
  AppSpec spec;
  ASSERT_TRUE(find_setting("watchdog")->set(spec, json("3s")));
  EXPECT_EQ(to_json(spec)["watchdog"], 3000);
  EXPECT_FALSE(to_json(AppSpec()).contains("watchdog"));  // written only when set
}

TEST(WatchdogHooksSettingsTest, BadValuesAreRefusedByName) {
  for (json bad : {json(-1), json("-5s"), json("soon"), json(true), json::array()}) {
    SCOPED_TRACE(bad.dump());
    std::string e = json_error({{"script", "x"}, {"watchdog", bad}});
    EXPECT_EQ(e.rfind("watchdog: expected a duration", 0), 0u) << e;
  }
  for (json bad : {json(0), json("0s"), json(-3), json("x")}) {
    SCOPED_TRACE(bad.dump());
    std::string e = json_error({{"script", "x"}, {"hook_timeout", bad}});
    EXPECT_EQ(e.rfind("hook_timeout: expected a duration above 0", 0), 0u) << e;
  }
  EXPECT_EQ(json_error({{"script", "x"}, {"hooks", {{"crashed", "true"}}}}),
            "hooks: unknown hook event \"crashed\" (the events are crash, errored, restart, "
            "reload_failed, health)");
  EXPECT_EQ(json_error({{"script", "x"}, {"hooks", {{"crash", "  "}}}}),
            "hooks: the hook for \"crash\" has an empty command");
  EXPECT_NE(json_error({{"script", "x"}, {"hooks", {{"crash", 5}}}}).find("must be a command"),
            std::string::npos);
  EXPECT_NE(json_error({{"script", "x"}, {"hooks", "curl x"}}).find("hooks: expected an object"),
            std::string::npos);
}

TEST(WatchdogHooksSettingsTest, HooksRoundTrip) {
  auto spec = app_spec_from_json(
      {{"script", "x"},
       {"hooks", {{"crash", "curl -d @- https://example.com"}, {"restart", "logger restarted"}}},
       {"hook_timeout", "5s"}});
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->hooks.at("crash"), "curl -d @- https://example.com");
  EXPECT_EQ(spec->hook_timeout_ms, 5000u);
  auto back = app_spec_from_json(to_json(*spec));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *spec);
}

TEST(WatchdogHooksSettingsTest, Flags) {
  EXPECT_EQ(flag_error("--watchdog", "10s"), "(accepted)");
  EXPECT_EQ(flag_error("--watchdog", "-1"),
            "--watchdog takes a duration (\"10s\", \"500ms\", \"2m\", or ms as a number; 0 = "
            "off), not '-1'");
  EXPECT_EQ(flag_error("--hook", "crash=echo a=b"), "(accepted)");
  EXPECT_EQ(flag_error("--hook", "echo"),
            "--hook takes EVENT=COMMAND (events: crash, errored, restart, reload_failed, "
            "health), not 'echo'");
  EXPECT_EQ(flag_error("--hook", "boom=echo"),
            "--hook boom=echo: unknown hook event \"boom\" (the events are crash, errored, "
            "restart, reload_failed, health)");
  EXPECT_EQ(flag_error("--hook", "crash="),
            "--hook crash=: the hook for \"crash\" has an empty command");
  EXPECT_EQ(flag_error("--hook-timeout", "0"),
            "--hook-timeout takes a duration above 0 (\"10s\", \"500ms\", \"2m\", or ms as a "
            "number), not '0'");

  // Repeatable, one per event; the command keeps its own '='.
  const AppSetting* hook = find_setting_by_flag("--hook");
  AppSpec cli;
  std::string cwd = "/";
  ASSERT_TRUE(hook->flag.parse(cli, FlagInput{"--hook", "crash=echo a=b", cwd}));
  ASSERT_TRUE(hook->flag.parse(cli, FlagInput{"--hook", "errored=echo e", cwd}));
  EXPECT_EQ(cli.hooks.at("crash"), "echo a=b");
  EXPECT_EQ(cli.hooks.at("errored"), "echo e");
  // Over an ecosystem file's app: the flag's events replace the file's, the others stay.
  AppSpec app;
  app.hooks = {{"crash", "old"}, {"restart", "kept"}};
  hook->flag.override_file(app, cli);
  EXPECT_EQ(app.hooks.at("crash"), "echo a=b");
  EXPECT_EQ(app.hooks.at("restart"), "kept");
}

}  // namespace
}  // namespace herd::manager
