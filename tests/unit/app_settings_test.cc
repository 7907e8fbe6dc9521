// The settings table (app_settings.h): its entries agree with each other and with AppSpec's
// JSON.
#include "app/app_settings.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

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

}  // namespace
}  // namespace herd::manager
