// The diagnostics settings (memory_window, memory_leak_threshold, load_window): their forms in
// ecosystem files and on `herd start`'s command line, their bounds, and errors that name the key
// or flag and the value.
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

TEST(DiagnosticsSettingsTest, DefaultsAndForms) {
  auto spec = app_spec_from_json({{"script", "x"}});
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->memory_window_ms, 600'000u);
  EXPECT_EQ(spec->memory_leak_threshold, 10'240u);
  EXPECT_EQ(spec->load_window_ms, 60'000u);
  // Left out of the spec's JSON while at their defaults.
  json j = to_json(*spec);
  EXPECT_FALSE(j.contains("memory_window"));
  EXPECT_FALSE(j.contains("load_window"));

  spec = app_spec_from_json({{"script", "x"},
                             {"memory_window", "30m"},
                             {"memory_leak_threshold", "1M"},
                             {"load_window", 5000}});
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->memory_window_ms, 1'800'000u);
  EXPECT_EQ(spec->memory_leak_threshold, 1u << 20);
  EXPECT_EQ(spec->load_window_ms, 5'000u);
  // Round trip.
  auto again = app_spec_from_json(to_json(*spec));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *spec);
}

TEST(DiagnosticsSettingsTest, BadValuesNameTheKeyOrFlag) {
  EXPECT_NE(json_error({{"script", "x"}, {"memory_window", "1s"}}).find("memory_window"),
            std::string::npos);
  EXPECT_NE(json_error({{"script", "x"}, {"memory_window", "25h"}}).find("from 5s to 24h"),
            std::string::npos);
  EXPECT_NE(json_error({{"script", "x"}, {"load_window", "2h"}}).find("load_window"),
            std::string::npos);
  EXPECT_NE(
      json_error({{"script", "x"}, {"memory_leak_threshold", 0}}).find("memory_leak_threshold"),
      std::string::npos);
  EXPECT_NE(json_error({{"script", "x"}, {"memory_leak_threshold", "lots"}}).find("\"lots\""),
            std::string::npos);
  EXPECT_EQ(flag_error("--memory-window", "20s"), "(accepted)");
  std::string e = flag_error("--memory-window", "forever");
  EXPECT_NE(e.find("--memory-window 'forever'"), std::string::npos) << e;
  e = flag_error("--memory-leak-threshold", "-5");
  EXPECT_NE(e.find("--memory-leak-threshold '-5'"), std::string::npos) << e;
  e = flag_error("--load-window", "0");
  EXPECT_NE(e.find("--load-window '0'"), std::string::npos) << e;
}

}  // namespace
}  // namespace herd::manager
