// An ecosystem file nested far too deep is refused at once, with the place, instead of costing
// time per level (or stack).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "app/ecosystem_reader.h"

namespace herd::manager::detail {
namespace {

std::string nested(std::size_t depth, bool objects) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += objects ? "{\"a\": " : "[";
  text += "1";
  for (std::size_t i = 0; i < depth; ++i) text += objects ? "}" : "]";
  return text;
}

TEST(EcosystemDepthTest, DeeplyNestedEcosystemFileIsRefusedQuickly) {
  for (bool objects : {false, true}) {
    SCOPED_TRACE(objects ? "objects" : "arrays");
    auto start = std::chrono::steady_clock::now();
    auto doc = read_json(nested(10000, objects), "eco.json");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    ASSERT_FALSE(doc);
    EXPECT_EQ(doc.error().code(), EINVAL);
    EXPECT_NE(doc.error().context().find("eco.json:1:"), std::string::npos)
        << doc.error().context();
    EXPECT_NE(doc.error().context().find("nested deeper than 64 levels"), std::string::npos)
        << doc.error().context();
    // 64 levels are fine.
    EXPECT_TRUE(read_json(nested(64, objects), "eco.json"));
    EXPECT_FALSE(read_json(nested(65, objects), "eco.json"));
  }
}

TEST(EcosystemDepthTest, DeeplyNestedYamlFileIsRefused) {
  auto start = std::chrono::steady_clock::now();
  auto doc = read_yaml(nested(10000, false), "eco.yaml");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), EINVAL);
  EXPECT_TRUE(read_yaml(nested(64, false), "eco.yaml"));
  auto deep = read_yaml(nested(65, false), "eco.yaml");
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().context().find("nested deeper than 64 levels"), std::string::npos)
      << deep.error().context();
}

TEST(EcosystemDepthTest, PathsStillNameTheValue) {
  auto doc = read_json(R"({"apps": [{"name": "a", "env": {"X": [1, {"y": true}]}}]})", "e.json");
  ASSERT_TRUE(doc) << doc.error().context();
  EXPECT_TRUE(doc->positions.count("apps[0].env.X[1].y"));
  EXPECT_TRUE(doc->positions.count("apps[0].name"));
  auto bad = read_json(R"({"apps": [{"env": {"X": [1, }]}}]})", "e.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().context().find("(in apps[0].env.X[1])"), std::string::npos)
      << bad.error().context();
}

}  // namespace
}  // namespace herd::manager::detail
