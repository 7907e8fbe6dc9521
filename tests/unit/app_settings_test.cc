// The settings table (app_settings.h): its entries agree with each other and with AppSpec's
// JSON, and increment_var, the setting added through it, reads and counts as PM2's does.
#include "app/app_settings.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "app/ecosystem.h"

namespace herd::manager {
namespace {

using nlohmann::json;

TEST(AppSettingsTest, KeysAliasesAndFlagsAreEachDeclaredOnce) {
  std::set<std::string_view> names;
  std::set<std::string_view> flags;
  for (const AppSetting& s : app_settings()) {
    EXPECT_TRUE(names.insert(s.key).second) << s.key;
    for (std::string_view alias : s.aliases) {
      if (!alias.empty()) {
        EXPECT_TRUE(names.insert(alias).second) << alias;
      }
    }
    for (std::string_view flag : s.flag.names) {
      if (flag.empty()) continue;
      EXPECT_TRUE(flags.insert(flag).second) << flag;
      EXPECT_EQ(find_setting_by_flag(flag), &s);
      EXPECT_NE(s.flag.parse, nullptr) << flag;
    }
    EXPECT_EQ(find_setting(s.key), &s);
  }
}

// The default each entry reports is AppSpec's, and it reads back as itself.
TEST(AppSettingsTest, DefaultsRoundTripThroughTheirSetters) {
  for (const AppSetting& s : app_settings()) {
    SCOPED_TRACE(s.key);
    AppSpec spec;
    ASSERT_TRUE(s.set(spec, setting_default(s)));
    EXPECT_EQ(spec, AppSpec());
  }
}

TEST(AppSettingsTest, ToJsonWritesTheTableInOrder) {
  json j = to_json(AppSpec());
  std::size_t always = 0;
  for (const AppSetting& s : app_settings()) {
    EXPECT_EQ(j.contains(s.key), s.always_in_json) << s.key;
    if (s.always_in_json) {
      EXPECT_EQ(app_field_names()[always++], s.key);
    }
  }
  EXPECT_EQ(always, app_field_names().size());
}

TEST(AppSettingsTest, DescribedSettingsHaveLabels) {
  for (const AppSetting& s : app_settings()) {
    EXPECT_EQ(s.display.label.empty(), s.display.format == DescribeFormat::kNone) << s.key;
  }
}

TEST(IncrementVarTest, IsAFieldWrittenOnlyWhenSet) {
  EXPECT_TRUE(is_app_field("increment_var"));
  AppSpec spec;
  EXPECT_FALSE(to_json(spec).contains("increment_var"));
  ASSERT_TRUE(set_app_field(&spec, "increment_var", "PORT"));
  EXPECT_EQ(spec.increment_var, "PORT");
  EXPECT_EQ(to_json(spec)["increment_var"], "PORT");
  auto back = app_spec_from_json(to_json(spec));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, spec);
  ASSERT_TRUE(set_app_field(&spec, "increment_var", ""));
  EXPECT_EQ(spec, AppSpec());

  for (const char* bad : {R"("A=B")", "true", "[]"}) {
    SCOPED_TRACE(bad);
    auto st = set_app_field(&spec, "increment_var", json::parse(bad));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), EINVAL);
    EXPECT_NE(st.error().context().find("an environment variable name"), std::string::npos);
  }
}

TEST(IncrementVarTest, InstanceNGetsTheValuePlusN) {
  AppSpec spec;
  spec.env = {{"PORT", "3000"}, {"NEG", "-2"}, {"EMPTY", ""}, {"WORD", "http"}, {"MIX", "30x"}};
  EXPECT_EQ(*increment_var_value(spec, 3), std::nullopt);  // no increment_var
  struct Case {
    const char* var;
    int index;
    std::int64_t want;
  };
  for (const Case& c :
       {Case{"PORT", 0, 3000}, Case{"PORT", 1, 3001}, Case{"PORT", 7, 3007}, Case{"NEG", 2, 0},
        Case{"EMPTY", 2, 2}, Case{"UNSET", 0, 0}, Case{"UNSET", 4, 4}}) {
    SCOPED_TRACE(std::string(c.var) + " " + std::to_string(c.index));
    spec.increment_var = c.var;
    auto value = increment_var_value(spec, c.index);
    ASSERT_TRUE(value) << value.error().message();
    EXPECT_EQ(*value, c.want);
  }
  for (const char* var : {"WORD", "MIX"}) {
    spec.increment_var = var;
    auto value = increment_var_value(spec, 1);
    ASSERT_FALSE(value);
    EXPECT_EQ(value.error().code(), EINVAL);
    EXPECT_NE(value.error().context().find("not a whole number"), std::string::npos);
  }
}

TEST(IncrementVarTest, EcosystemFilesSetItAndCheckTheValue) {
  EcosystemOptions opts;
  opts.base_env = {{"PORT", "8000"}};
  auto r = parse_ecosystem(
      R"({"apps": [{"script": "a.js", "instances": 2, "increment_var": "PORT",
                    "env": {"PORT": 3000}}]})",
      EcosystemFormat::kJson, "eco.json", "/srv", opts);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();  // no longer "not supported"
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps[0].increment_var, "PORT");
  EXPECT_EQ(*increment_var_value(r->apps[0], 1), 3001);

  auto bad = parse_ecosystem(
      "apps:\n  - script: a.js\n    increment_var: PORT\n"
      "    env:\n      PORT: http\n",
      EcosystemFormat::kYaml, "eco.yaml", "/srv", opts);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().context(),
            "eco.yaml:3:5: apps[0].increment_var: increment_var PORT is \"http\" in env, not a "
            "whole number");
}

}  // namespace
}  // namespace herd::manager
