// The resource settings (max_memory, cpu_quota, max_tasks): the forms they take in ecosystem
// files and on `herd start`'s command line, how they round-trip, and the errors that name the
// key or flag and the value.
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

TEST(ResourceSettingsTest, MaxMemoryTakesSizes) {
  struct Case {
    json value;
    std::uint64_t bytes;
  } cases[] = {
      {"64M", 64u << 20}, {"1G", 1u << 30}, {"512MB", 512u << 20}, {0, 0}, {1048576, 1048576}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.dump());
    auto spec = app_spec_from_json({{"script", "x"}, {"max_memory", c.value}});
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->max_memory, c.bytes);
  }
}

TEST(ResourceSettingsTest, CpuQuotaTakesPercentOrCpus) {
  struct Case {
    json value;
    std::uint64_t milli;
    std::string shown;
  } cases[] = {{"50%", 500, "50%"},     {"20%", 200, "20%"},   {"150%", 1500, "150%"},
               {1.5, 1500, "150%"},     {"1.5", 1500, "150%"}, {2, 2000, "200%"},
               {"12.5%", 125, "12.5%"}, {"0.25", 250, "25%"},  {"1%", 10, "1%"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.dump());
    auto spec = app_spec_from_json({{"script", "x"}, {"cpu_quota", c.value}});
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->cpu_quota, c.milli);
    json j = to_json(*spec);
    EXPECT_EQ(j["cpu_quota"], c.shown);
    // What to_json writes reads back the same.
    auto again = app_spec_from_json(j);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->cpu_quota, c.milli);
  }
}

TEST(ResourceSettingsTest, MaxTasksTakesACount) {
  auto spec = app_spec_from_json({{"script", "x"}, {"max_tasks", 64}});
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->max_tasks, 64u);
  spec = app_spec_from_json({{"script", "x"}, {"max_tasks", "128"}});
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->max_tasks, 128u);
}

TEST(ResourceSettingsTest, UnsetLimitsStayOutOfTheJson) {
  AppSpec spec;
  spec.script = "x";
  json j = to_json(spec);
  EXPECT_FALSE(j.contains("max_memory"));
  EXPECT_FALSE(j.contains("cpu_quota"));
  EXPECT_FALSE(j.contains("max_tasks"));
}

TEST(ResourceSettingsTest, BadValuesNameTheKeyAndTheValue) {
  struct Case {
    json app;
    std::string key, value;
  } cases[] = {
      {{{"script", "x"}, {"max_memory", -5}}, "max_memory", "-5"},
      {{{"script", "x"}, {"max_memory", "lots"}}, "max_memory", "lots"},
      {{{"script", "x"}, {"max_memory", 100}}, "max_memory", "100"},  // below 1M: a mistake
      {{{"script", "x"}, {"cpu_quota", "lots"}}, "cpu_quota", "lots"},
      {{{"script", "x"}, {"cpu_quota", -1}}, "cpu_quota", "-1"},
      {{{"script", "x"}, {"cpu_quota", "0.5%"}}, "cpu_quota", "0.5%"},
      {{{"script", "x"}, {"cpu_quota", "12.55%"}}, "cpu_quota", "12.55%"},
      {{{"script", "x"}, {"cpu_quota", "5000"}}, "cpu_quota", "5000"},
      {{{"script", "x"}, {"max_tasks", -3}}, "max_tasks", "-3"},
      {{{"script", "x"}, {"max_tasks", "many"}}, "max_tasks", "many"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.app.dump());
    std::string e = json_error(c.app);
    EXPECT_NE(e.find(c.key), std::string::npos) << e;
    EXPECT_NE(e.find(c.value), std::string::npos) << e;
  }
}

TEST(ResourceSettingsTest, FlagsSetThemAndNameThemselvesInErrors) {
  const AppSetting* s = find_setting_by_flag("--cpu-quota");
  ASSERT_NE(s, nullptr);
  AppSpec cli;
  std::string cwd = "/";
  ASSERT_TRUE(s->flag.parse(cli, FlagInput{"--cpu-quota", std::string("20%"), cwd}));
  EXPECT_EQ(cli.cpu_quota, 200u);
  ASSERT_TRUE(find_setting_by_flag("--max-memory")
                  ->flag.parse(cli, FlagInput{"--max-memory", std::string("64M"), cwd}));
  EXPECT_EQ(cli.max_memory, 64u << 20);
  ASSERT_TRUE(find_setting_by_flag("--max-tasks")
                  ->flag.parse(cli, FlagInput{"--max-tasks", std::string("10"), cwd}));
  EXPECT_EQ(cli.max_tasks, 10u);
  for (auto [flag, value] :
       {std::pair{"--cpu-quota", "lots"}, {"--max-memory", "-5"}, {"--max-tasks", "x"}}) {
    std::string e = flag_error(flag, value);
    EXPECT_NE(e.find(flag), std::string::npos) << e;
    EXPECT_NE(e.find(value), std::string::npos) << e;
  }
}

TEST(ResourceSettingsTest, GroupIsPm2sSpellingOfGid) {
  // Aliases are read by the ecosystem loader (ecosystem_keys.cc) through the table.
  const AppSetting* s = find_setting_by_alias("group");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->key, "gid");
}

}  // namespace
}  // namespace herd::manager
