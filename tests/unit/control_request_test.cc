// The control protocol's edge: nesting depth, and each verb's fields checked for their types.
#include "protocol/control_request.h"

#include <gtest/gtest.h>

#include <string>

namespace herd::manager {
namespace {

using nlohmann::json;

std::string nested_id(std::size_t depth) {
  std::string id(depth, '[');
  id += "1";
  id.append(depth, ']');
  return R"({"verb":"ping","id":)" + id + "}";
}

TEST(ControlRequestTest, NestingDepthIsLimited) {
  json id;
  EXPECT_TRUE(parse_control_request(nested_id(kMaxRequestDepth - 1), &id));
  auto deep = parse_control_request(nested_id(100000), &id);
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().find("64 levels"), std::string::npos) << deep.error();
  EXPECT_TRUE(id.is_null());
  // Brackets inside strings do not count.
  std::string in_string = R"({"verb":"ping","id":")" + std::string(1000, '[') + "\"}";
  EXPECT_TRUE(parse_control_request(in_string, &id));
  EXPECT_TRUE(parse_control_request(R"({"verb":"ping","id":"a\"[[["})", &id));
}

TEST(ControlRequestTest, MalformedLinesKeepTheirId) {
  json id;
  auto r = parse_control_request(R"({"id":7,"verb":3})", &id);
  ASSERT_FALSE(r);
  EXPECT_EQ(id, 7);
  EXPECT_FALSE(parse_control_request("[1,2]", &id));
  EXPECT_FALSE(parse_control_request("{not json", &id));
}

TEST(ControlRequestTest, FieldTypesAreCheckedPerVerb) {
  struct Case {
    const char* request;
    const char* field;  // "" = accepted
  };
  const Case cases[] = {
      {R"({"verb":"scale","app":"web","count":"2"})", ""},
      {R"({"verb":"scale","app":"web","count":2})", "count"},
      {R"({"verb":"scale","app":1,"count":"2"})", "app"},
      {R"({"verb":"scale","count":"2"})", "app"},
      {R"({"verb":"signal","signal":"USR2","targets":["web"]})", ""},
      {R"({"verb":"signal","signal":[],"targets":["web"]})", "signal"},
      {R"({"verb":"env","target":"0"})", ""},
      {R"({"verb":"env","target":{}})", "target"},
      {R"({"verb":"stop","targets":["web",3]})", ""},
      {R"({"verb":"stop","targets":"web"})", "targets"},
      {R"({"verb":"describe","targets":[null]})", "targets"},
      {R"({"verb":"restart","targets":["a"],"update_env":{"A":"1"}})", ""},
      {R"({"verb":"restart","targets":["a"],"update_env":"A=1"})", "update_env"},
      {R"({"verb":"reload","targets":["a"],"parallel":2})", ""},
      {R"({"verb":"reload","targets":["a"],"parallel":0})", "parallel"},
      {R"({"verb":"reload","targets":["a"],"parallel":1.5})", "parallel"},
      {R"({"verb":"reload","targets":["a"],"parallel":99999999999})", "parallel"},
      {R"({"verb":"start","apps":[{"script":"a"}]})", ""},
      {R"({"verb":"start","apps":{}})", "apps"},
      {R"({"verb":"start","apps":["a"]})", "apps"},
      {R"({"verb":"save"})", ""},
      {R"({"verb":"save","force":true})", ""},
      {R"({"verb":"save","force":1})", "force"},
      {R"({"verb":"ping","extra":{"x":1}})", ""},
      {R"({"verb":"no-such-verb","targets":7})", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request);
    json id;
    auto req = parse_control_request(c.request, &id);
    ASSERT_TRUE(req) << req.error();
    std::string bad = check_control_request(*req);
    if (*c.field == '\0') {
      EXPECT_EQ(bad, "");
    } else {
      EXPECT_NE(bad.find(c.field), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace herd::manager
