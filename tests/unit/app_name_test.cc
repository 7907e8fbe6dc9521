// The app name rule (app_name.h), and the default names derived from scripts.
#include "app/app_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/app_spec.h"

namespace herd::manager {
namespace {

TEST(AppNameTest, AppNamesAreValidated) {
  for (const std::string& good :
       std::vector<std::string>{"web", "api-v2", "my app", "worker.1", "a", "ALL", "all2", "x5",
                                "café", std::string(128, 'n'), ".hidden", "-dash"}) {
    EXPECT_TRUE(validate_app_name(good)) << good;
  }
  struct Bad {
    std::string name;
    const char* why;
  };
  const Bad bad[] = {
      {"", "empty"},
      {std::string(129, 'n'), "longer than 128"},
      {"../../x", "'/'"},
      {"a/b", "'/'"},
      {"/re/", "'/'"},
      {"a\\b", "'\\'"},
      {"line\nbreak", "control character"},
      {"esc\x1b[31m", "control character"},
      {std::string("nul\0x", 5), "control character"},
      {"del\x7f", "control character"},
      {".", "directory"},
      {"..", "directory"},
      {"5", "digits"},
      {"0042", "digits"},
      {"all", "every app"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.name);
    Status s = validate_app_name(b.name);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), EINVAL);
    EXPECT_NE(s.error().context().find(b.why), std::string::npos) << s.error().context();
    EXPECT_NE(s.error().context().find("not a valid app name"), std::string::npos);
    // The message never carries the raw control characters to the terminal.
    for (char c : s.error().context()) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  }
}

TEST(AppNameTest, DefaultNamesFromScriptsAreValid) {
  struct Case {
    const char* script;
    const char* name;
  };
  const Case cases[] = {
      {"./api/server.js", "server"},
      {"5.js", "app-5"},
      {"./all.sh", "app-all"},
      {"python3 -m http.server", "python3"},
      {"/", "app"},
      {"..", "app"},
      {"./tab\there.sh", "tab"},
      {"./ctl\x01x.sh", "ctl_x"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(default_app_name(c.script), c.name) << c.script;
    EXPECT_TRUE(validate_app_name(default_app_name(c.script))) << c.script;
  }
  EXPECT_EQ(default_app_name(std::string("./").append(300, 'x').append(".js")).size(),
            kMaxAppNameLength);
}

TEST(AppNameTest, AppNamesAreValidatedInAppDescriptions) {
  auto spec = app_spec_from_json({{"name", "../../x"}, {"script", "./a.sh"}});
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().context().find("name: \"../../x\" is not a valid app name"),
            std::string::npos)
      << spec.error().context();
  EXPECT_FALSE(app_spec_from_json({{"name", 5}, {"script", "./a.sh"}}));
  EXPECT_TRUE(app_spec_from_json({{"name", "web"}, {"script", "./a.sh"}}));
}

}  // namespace
}  // namespace herd::manager
