// Instance counts: `-i`/instances and `herd scale`, parsed strictly and bounded.
#include <gtest/gtest.h>

#include <string>

#include "app/app_spec.h"

namespace herd::manager {
namespace {

TEST(AppSpecTest, ScaleCountsAreParsedStrictly) {
  struct Case {
    const char* count;
    int current;
    int want;  // 0: refused
  };
  const Case cases[] = {
      {"4", 2, 4},          {"+2", 2, 4},
      {"-1", 2, 1},         {"1", 5, 1},
      {"1024", 1, 1024},    {"0", 2, 0},
      {"-2", 2, 0},         {"-99999", 2, 0},
      {"4294967297", 1, 0}, {"99999999999999999999", 1, 0},
      {"1025", 1, 0},       {"+1023", 2, 0},
      {"", 1, 0},           {"+", 1, 0},
      {"4x", 1, 0},         {" 4", 1, 0},
      {"0x10", 1, 0},       {"1e3", 1, 0},
      {"--1", 1, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.count);
    auto n = scale_target(c.count, c.current);
    if (c.want == 0) {
      ASSERT_FALSE(n) << *n;
      EXPECT_EQ(n.error().code(), EINVAL);
    } else {
      ASSERT_TRUE(n) << n.error().context();
      EXPECT_EQ(*n, c.want);
    }
  }
  EXPECT_NE(scale_target("0", 2).error().context().find("herd stop"), std::string::npos);
}

TEST(AppSpecTest, InstanceCountsAreBounded) {
  EXPECT_TRUE(validate_instances("1024"));
  EXPECT_TRUE(validate_instances("-1024"));
  EXPECT_FALSE(validate_instances("1025"));
  EXPECT_FALSE(validate_instances("-1025"));
  EXPECT_FALSE(validate_instances("4294967297"));
  // With the machine's CPU count known, "-N" must leave an instance.
  EXPECT_TRUE(validate_instances("-1", 4));
  EXPECT_TRUE(validate_instances("-3", 4));
  auto s = validate_instances("-100", 4);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().context().find("4 CPU"), std::string::npos) << s.error().context();
  EXPECT_FALSE(validate_instances("-4", 4));
  EXPECT_TRUE(validate_instances("max", 4));
  EXPECT_TRUE(validate_instances("0", 4));
}

}  // namespace
}  // namespace herd::manager
