// relax_json: the JavaScript literal forms PM2 7 accepts in a .json ecosystem file (it evaluates
// "(" + text + ")" with vm.runInThisContext, lib/Common.js parseConfig), rewritten as JSON; and
// what JavaScript rejects, rejected with the place.
#include "app/relaxed_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "app/ecosystem.h"

namespace herd::manager::detail {
namespace {

using nlohmann::json;

json relaxed(std::string_view text) {
  auto r = relax_json(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().reason);
  if (!r) return nullptr;
  EXPECT_EQ(r->origin.size(), r->json.size() + 1);
  return json::parse(r->json);
}

struct Accepted {
  const char* text;
  const char* as_json;
};

// Each case is what node gives for "(" + text + ")", JSON.stringify'd (checked with node 20).
const Accepted kAccepted[] = {
    {R"({"a": 1})", R"({"a":1})"},
    {"// a comment\n{\"a\": 1}", R"({"a":1})"},
    {"{/* block\n comment */ \"a\": 1 /* end */}", R"({"a":1})"},
    {R"({"a": [1, 2,], "b": {"c": 3,},})", R"({"a":[1,2],"b":{"c":3}})"},
    {"{apps: [{name: 'api', script: \"s\"}]}", R"({"apps":[{"name":"api","script":"s"}]})"},
    {"{$x_1: 1, _y: 2}", R"({"$x_1":1,"_y":2})"},
    {"{1: 'one', 0x10: 'hex'}", R"({"1":"one","16":"hex"})"},
    {R"({a: 'it\'s', b: "say \"hi\"", c: 'a"b'})", R"({"a":"it's","b":"say \"hi\"","c":"a\"b"})"},
    {R"({a: '\x41\u0042\u{43}\v\0'})", "{\"a\":\"ABC\\u000b\\u0000\"}"},
    {R"({a: '\uD83D\uDE00'})", "{\"a\":\"\xF0\x9F\x98\x80\"}"},
    {"{a: 'line \\\nnext'}", R"({"a":"line next"})"},
    {"{a: `back\nquote`}", R"({"a":"back\nquote"})"},
    {R"({a: '\q'})", R"({"a":"q"})"},
    {"{a: 0x1F, b: 0o17, c: 0b11, d: 017, e: 089}", R"({"a":31,"b":15,"c":3,"d":15,"e":89})"},
    {"{a: .5, b: 5., c: +1, d: -2, e: 1_000, f: 1e3, g: 2.5E-1, h: - 3}",
     R"({"a":0.5,"b":5,"c":1,"d":-2,"e":1000,"f":1000.0,"g":0.25,"h":-3})"},
    {"{a: undefined, b: null, c: true, d: false}", R"({"a":null,"b":null,"c":true,"d":false})"},
    {"\xEF\xBB\xBF{\"a\": 1}", R"({"a":1})"},
    {"[{script: 'a'},]", R"([{"script":"a"}])"},
};

TEST(RelaxedJsonTest, AcceptsWhatPm2AcceptsInJsonFiles) {
  for (const Accepted& c : kAccepted) {
    EXPECT_EQ(relaxed(c.text), json::parse(c.as_json)) << c.text;
  }
}

TEST(RelaxedJsonTest, StrictJsonIsUnchanged) {
  std::string text = R"({"apps": [{"name": "a\u00e9\"", "n": -1.5e3, "l": [true, false, null]}]})";
  auto r = relax_json(text);
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->json), json::parse(text));
}

struct Rejected {
  const char* text;
  std::size_t offset;
  const char* reason_starts;
};

// What node reports a SyntaxError for (or a ReferenceError: a name that is not a literal).
const Rejected kRejected[] = {
    {"{a: 'open}", 4, "unterminated string: expected '"},
    {"{a: 'two\nlines'}", 8, "a line break inside a string"},
    {"{a: 1} /* open", 7, "unterminated comment: expected */"},
    {"{a: `x ${y}`}", 7, "a ${...} substitution is JavaScript"},
    {"{a: process.env.PORT}", 4, "'process' is not a value: expected a string"},
    {"{a: NaN}", 4, "'NaN' is not a value"},
    {"{a: 1.2.3}", 4, "invalid number '1.2.3'"},
    {"{a: 0xZZ}", 4, "invalid number '0xZZ'"},
    {"{a: 12abc}", 4, "invalid number '12abc'"},
    {"{a: -'x'}", 4, "expected a number after the sign"},
    {"{a: '\\x4'}", 5, "expected two hex digits after \\x"},
    {"{a: '\\u{110000}'}", 5, "\\u{...} above 10FFFF"},
    {"{a: '\\01'}", 5, "octal escapes are not supported"},
    {"{a: #}", 4, "unexpected character '#'"},
};

TEST(RelaxedJsonTest, RejectsWhatJavaScriptRejectsWithThePlace) {
  for (const Rejected& c : kRejected) {
    auto r = relax_json(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().offset, c.offset) << c.text;
    EXPECT_TRUE(r.error().reason.starts_with(c.reason_starts))
        << c.text << ": " << r.error().reason;
  }
}

// A NUL byte is where nlohmann's own lexer would stop reading ("0\0\7" would parse as 0): here
// it is refused, by its value (ecosystem_fuzz found the difference).
TEST(RelaxedJsonTest, ControlBytesAreRefusedByTheirValue) {
  using namespace std::string_view_literals;
  auto r = relax_json("0\0\0\0\7\0\0"sv);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 1u);
  EXPECT_TRUE(r.error().reason.starts_with("unexpected character byte 0x00")) << r.error().reason;
  r = relax_json("{a: \x01}"sv);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().reason.starts_with("unexpected character byte 0x01")) << r.error().reason;
}

TEST(RelaxedJsonTest, OriginMapsEveryByteBackToTheInput) {
  std::string text = "{\n  // c\n  name: 'x',\n}";
  auto r = relax_json(text);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json, R"({"name":"x"})");
  ASSERT_EQ(r->origin.size(), r->json.size() + 1);
  EXPECT_EQ(r->origin[0], 0u);
  EXPECT_EQ(r->origin[1], text.find("name"));  // the key's quote stands where the key began
  EXPECT_EQ(r->origin[r->json.size() - 1], text.size() - 1);
  EXPECT_EQ(r->origin.back(), text.size());
  for (std::size_t i = 1; i < r->origin.size(); ++i) EXPECT_LE(r->origin[i - 1], r->origin[i]);
}

// The structure is the JSON parser's: its errors name the line and column of the file itself,
// after comments and unquoted keys, and say what was expected.
TEST(RelaxedJsonTest, EcosystemErrorsNameTheFilesLineAndWhatWasExpected) {
  // PM2 7.0.4 on this file: "SyntaxError: Unexpected identifier 'script'" at line 4.
  std::string text = "{\n  apps: [{\n    name: 'bad' // no comma\n    script: 'sleep',\n  }]\n}";
  auto r = parse_ecosystem(text, EcosystemFormat::kJson, "eco.json", "/srv", {});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().context().starts_with("eco.json:4:5: ")) << r.error().context();
  EXPECT_NE(r.error().context().find("expected '}'"), std::string::npos) << r.error().context();

  auto js = parse_ecosystem("{apps: [{script: require('x')}]}", EcosystemFormat::kJson, "e.json",
                            "/srv", {});
  ASSERT_FALSE(js);
  EXPECT_EQ(js.error().context().rfind("e.json:1:18: 'require' is not a value", 0), 0u)
      << js.error().context();
}

TEST(RelaxedJsonTest, RelaxedEcosystemFileLoads) {
  std::string text =
      "// deploy\n{\n  apps: [{\n    name: 'api',\n    script: './server',\n    instances: 2,\n"
      "    env: {PORT: 3000,},\n  },],\n}\n";
  auto r = parse_ecosystem(text, EcosystemFormat::kJson, "eco.json", "/srv", {});
  ASSERT_TRUE(r) << r.error().context();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps[0].name, "api");
  EXPECT_EQ(r->apps[0].instances, "2");
  EXPECT_EQ(r->apps[0].env.at("PORT"), "3000");
}

TEST(RelaxedJsonTest, WarningsPointAtTheKeyInTheFile) {
  std::string text = "{apps: [{script: 'a',\n  instnces: 2}]}";
  auto r = parse_ecosystem(text, EcosystemFormat::kJson, "eco.json", "/srv", {});
  ASSERT_TRUE(r) << r.error().context();
  ASSERT_FALSE(r->warnings.empty());
  EXPECT_TRUE(r->warnings[0].starts_with("eco.json:2:3: ")) << r->warnings[0];
}

}  // namespace
}  // namespace herd::manager::detail
