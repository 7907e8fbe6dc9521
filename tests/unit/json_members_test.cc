// JsonMembers writes the text nlohmann's dump would write for the object it stands for: the same
// bytes, whatever the members, their order, repeats, escapes and nesting.
#include "protocol/json_members.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace herd::manager {
namespace {

std::string dumped(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string text_of(const JsonMembers& m) {
  std::string out;
  m.append_text(&out);
  return out;
}

TEST(JsonMembers, TextIsTheTreesDumpSortedWithTheLastValueOfAKey) {
  JsonMembers m;
  m.set("status", "online");
  m.set("restart_time", 3);
  m.set("NODE_APP_INSTANCE", 0);
  m.set("name", "api");
  m.set("status", "stopped");  // set twice: the last wins, in the key's sorted place
  m.set("cpu", 12.5);
  m.set("listen", nlohmann::json::array({"0.0.0.0:3000"}));
  EXPECT_EQ(text_of(m), dumped(m.to_json()));
  EXPECT_EQ(
      text_of(m),
      R"({"NODE_APP_INSTANCE":0,"cpu":12.5,"listen":["0.0.0.0:3000"],"name":"api","restart_time":3,"status":"stopped"})");
  ASSERT_NE(m.find("status"), nullptr);
  EXPECT_EQ(*m.find("status"), "stopped");
  EXPECT_EQ(m.find("nothing"), nullptr);
}

TEST(JsonMembers, EscapesInvalidUtf8NumbersAndEmptyObjectsAsNlohmannDoes) {
  JsonMembers empty;
  EXPECT_EQ(text_of(empty), "{}");
  EXPECT_EQ(text_of(empty), dumped(empty.to_json()));

  JsonMembers m;
  m.set("quote\"key", "line\nbreak\ttab \"quoted\" back\\slash \x01 control");
  m.set("utf8", "caf\xc3\xa9 \xe2\x82\xac");
  m.set("invalid", std::string("bad \xff\xfe byte"));  // replaced by U+FFFD, not thrown
  m.set("nan", std::numeric_limits<double>::quiet_NaN());
  m.set("inf", std::numeric_limits<double>::infinity());
  m.set("one", 1.0);
  m.set("tiny", 1e-300);
  m.set("negative", -42);
  m.set("big", std::numeric_limits<std::uint64_t>::max());
  m.set("null", nullptr);
  m.set("\x7f", true);
  EXPECT_EQ(text_of(m), dumped(m.to_json()));
}

TEST(JsonMembers, NestedObjectsTextMembersAndAdoptedObjects) {
  JsonMembers inner;
  inner.set("b", 2);
  inner.set("a", 1);
  JsonMembers outer;
  outer.set_object("inner", &inner);
  outer.set_text("env", R"({"A":"1","PATH":"/bin"})");
  outer.set("adopted", 0);
  nlohmann::json more = {{"adopted", "later wins"}, {"health", {{"status", "ok"}}}};
  outer.adopt(std::move(more));
  outer.adopt(nlohmann::json::array({1, 2}));  // not an object: nothing
  EXPECT_EQ(text_of(outer), dumped(outer.to_json()));
  EXPECT_EQ(outer.to_json()["adopted"], "later wins");
  EXPECT_EQ(outer.to_json()["env"]["PATH"], "/bin");
  EXPECT_EQ(outer.to_json()["inner"].dump(), R"({"a":1,"b":2})");
  // take_json() gives the same tree, its values moved out of this and the nested object.
  const std::string text = text_of(outer);
  EXPECT_EQ(dumped(outer.take_json()), text);
}

// Many random objects: random keys (repeats included, some that sort before and after each
// other only by a byte above 0x7f), random values.
TEST(JsonMembers, RandomObjectsMatchTheirTreesByteForByte) {
  std::mt19937 rng(12345);
  const std::vector<std::string> keys = {"a",   "b",    "ab",       "B",        "_",     "pm_id",
                                         "pid", "pm2_", "pm2_env",  "\xc3\xa9", "a\xff", "",
                                         "Z",   "zz",   "status_t", "env"};
  auto value = [&](int depth) -> nlohmann::json {
    switch (rng() % 8) {
      case 0:
        return static_cast<std::int64_t>(rng()) - (1LL << 31);
      case 1:
        return static_cast<double>(rng()) / 7.0;
      case 2:
        return (rng() % 2) == 0;
      case 3:
        return nullptr;
      case 4:
        return std::string(rng() % 6, static_cast<char>(rng() % 256));
      case 5:
        return nlohmann::json::array({rng() % 100, "x"});
      case 6:
        return depth > 0 ? nlohmann::json::object() : nlohmann::json("s");
      default:
        return keys[rng() % keys.size()];
    }
  };
  for (int round = 0; round < 2000; ++round) {
    JsonMembers inner;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n)
      inner.set(keys[rng() % keys.size()], value(0));
    JsonMembers m;
    std::deque<std::string> texts;  // set_text keeps views: the texts stay put
    for (int n = static_cast<int>(rng() % 12); n > 0; --n) {
      const std::string& key = keys[rng() % keys.size()];
      switch (rng() % 4) {
        case 0:
          texts.push_back(dumped(value(1)));
          m.set_text(key, texts.back());
          break;
        case 1:
          m.set_object(key, &inner);
          break;
        default:
          m.set(key, value(1));
          break;
      }
    }
    const std::string text = text_of(m);
    ASSERT_EQ(text, dumped(m.to_json())) << "round " << round;
    // take_json() moves the values out: the same tree (a member nested twice is taken once
    // and then read empty, so only rounds without nesting compare).
    if (text.find(R"(":{)") == std::string::npos) {
      ASSERT_EQ(text, dumped(m.take_json())) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace herd::manager
