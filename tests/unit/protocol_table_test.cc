// The control protocol's tables: every verb's typed request through JSON and back, unknown verbs
// and fields refused in one place, and the error codes with their text.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "protocol/control_request.h"
#include "protocol/error_code.h"
#include "protocol/requests.h"
#include "protocol/verbs.h"

namespace herd::manager {
namespace {

using nlohmann::json;

// One request per verb with every field it takes set.
const std::map<Verb, json>& samples() {
  static const std::map<Verb, json> kSamples = {
      {Verb::kPing, json::object()},
      {Verb::kJlist, json::parse(R"({"brief": true, "rows": true})")},
      {Verb::kStart, json::parse(R"({"apps": [{"name": "web", "script": "/bin/sleep"}]})")},
      {Verb::kStop, json::parse(R"({"targets": ["web", "3"]})")},
      {Verb::kRestart, json::parse(R"({"targets": ["all"], "update_env": {"A": "1"}})")},
      {Verb::kReload,
       json::parse(R"({"targets": ["/^w/"], "update_env": {"B": "x"}, "parallel": 2})")},
      {Verb::kDelete, json::parse(R"({"targets": ["web"]})")},
      {Verb::kScale, json::parse(R"({"app": "web", "count": "+2"})")},
      {Verb::kReset, json::parse(R"({"targets": ["0"]})")},
      {Verb::kSignal, json::parse(R"({"signal": "SIGUSR2", "targets": ["web"]})")},
      {Verb::kDescribe, json::parse(R"({"targets": ["web"]})")},
      {Verb::kEnv, json::parse(R"({"target": "0"})")},
      {Verb::kFlush, json::parse(R"({"targets": ["all"]})")},
      {Verb::kSave, json::parse(R"({"force": true})")},
      {Verb::kResurrect, json::object()},
      {Verb::kLogs, json::parse(R"({"targets": ["all"]})")},
      {Verb::kKill, json::object()},
      {Verb::kUpdate, json::parse(R"({"binary": "/usr/bin/herd"})")},
      {Verb::kReloadLogs, json::object()},
      {Verb::kApply, json::parse(R"({"apps": [{"name": "web", "script": "./w"}], "prune": true,
                       "unchanged": "reload", "parallel": 2})")},
      {Verb::kHeapdump, json::parse(R"({"target": "web", "file": "/tmp/w.heapsnapshot"})")},
      {Verb::kProfile, json::parse(R"({"target": "0", "file": "/tmp/w.cpuprofile",
                       "duration_ms": 10000})")},
  };
  return kSamples;
}

TEST(ProtocolTableTest, EveryVerbRoundTripsItsTypedRequest) {
  ASSERT_EQ(verb_table().size(), kVerbCount);
  for (const VerbSpec& spec : verb_table()) {
    SCOPED_TRACE(spec.name);
    ASSERT_EQ(samples().count(spec.verb), 1u) << "a sample for every verb of the table";
    json line = samples().at(spec.verb);
    line["verb"] = spec.name;
    line["id"] = 7;
    // The sample passes the edge as a client would send it.
    auto req = read_control_request(line.dump());
    ASSERT_TRUE(req) << req.error().error.message;
    EXPECT_EQ(req->verb, &spec);
    EXPECT_EQ(req->id, 7);
    // Typed, then JSON again: the same fields, and only fields the table lists.
    Request typed = read_request(spec.verb, req->body);
    EXPECT_EQ(typed.index(), static_cast<std::size_t>(spec.request));
    json again = request_json(spec.verb, typed);
    line.erase("id");
    EXPECT_EQ(again, line);
    EXPECT_EQ(check_control_request(again), "");
    // And a second time, unchanged.
    EXPECT_EQ(request_json(spec.verb, read_request(spec.verb, again)), again);
  }
}

TEST(ProtocolTableTest, NamesAndAliasesFindTheirVerb) {
  std::set<std::string_view> names;
  for (const VerbSpec& spec : verb_table()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    EXPECT_EQ(find_verb(spec.name), &spec);
    EXPECT_EQ(verb_name(spec.verb), spec.name);
    if (!spec.alias.empty()) {
      EXPECT_EQ(find_verb(spec.alias), &spec);
    }
  }
  EXPECT_EQ(find_verb("list"), &verb_spec(Verb::kJlist));
  EXPECT_EQ(find_verb("nope"), nullptr);
  EXPECT_EQ(find_verb(""), nullptr);
}

TEST(ProtocolTableTest, UnknownVerbsAndFieldsAreRefusedAtTheEdge) {
  auto verb = read_control_request(R"({"id":1,"verb":"nope"})");
  ASSERT_FALSE(verb);
  EXPECT_EQ(verb.error().id, 1);
  EXPECT_EQ(verb.error().error.code, ErrorCode::kUnknownVerb);
  EXPECT_EQ(verb.error().error.message, "unknown verb 'nope'");

  auto field = read_control_request(R"({"id":2,"verb":"stop","targets":["web"],"colour":1})");
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().id, 2);
  EXPECT_EQ(field.error().error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(field.error().error.message,
            "unknown field \"colour\" for verb 'stop' (it takes: targets)");

  auto none = read_control_request(R"({"verb":"resurrect","all":true})");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().error.message,
            "unknown field \"all\" for verb 'resurrect' (it takes: none)");
  auto list = read_control_request(R"({"verb":"jlist","all":true})");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().error.message,
            "unknown field \"all\" for verb 'jlist' (it takes: brief, rows)");
  EXPECT_FALSE(read_control_request(R"({"verb":"jlist","brief":"yes"})"));
  EXPECT_FALSE(read_control_request(R"({"verb":"jlist","rows":1})"));

  // A field of another verb is unknown here too: update_env belongs to restart and reload.
  EXPECT_FALSE(read_control_request(R"({"verb":"stop","targets":["a"],"update_env":{}})"));
  // "id" is every verb's; ping, the probe, ignores what it does not take.
  EXPECT_TRUE(read_control_request(R"({"verb":"kill","id":"x"})"));
  EXPECT_TRUE(read_control_request(R"({"verb":"ping","id":1,"client":"herd 9.0"})"));

  auto bad = read_control_request(R"({"id":3,"verb":"scale","app":"web","count":2})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().error.code, ErrorCode::kBadRequest);
  EXPECT_NE(bad.error().error.message.find("count"), std::string::npos);
  // A profile's duration: 1 ms to 5 minutes, whatever the client.
  for (const char* d : {"0", "-5", "36000000", "1.5", "\"10s\""}) {
    auto profile = read_control_request(
        fmt::format(R"({{"verb":"profile","target":"0","file":"/tmp/p","duration_ms":{}}})", d));
    ASSERT_FALSE(profile) << d;
    EXPECT_NE(profile.error().error.message.find("duration_ms"), std::string::npos);
  }
  EXPECT_FALSE(read_control_request(R"({"verb":"heapdump","target":"0"})"));  // no file
  auto line = read_control_request("{not json");
  ASSERT_FALSE(line);
  EXPECT_EQ(line.error().error.code, ErrorCode::kBadRequest);
}

TEST(ProtocolTableTest, ErrorCodesRoundTripThroughTheirText) {
  std::set<std::string_view> texts;
  for (int i = 0; i <= static_cast<int>(ErrorCode::kUnknown); ++i) {
    auto code = static_cast<ErrorCode>(i);
    std::string_view text = error_code_text(code);
    SCOPED_TRACE(text);
    EXPECT_TRUE(text.starts_with("E_"));
    EXPECT_TRUE(texts.insert(text).second) << "each code has its own text";
    EXPECT_EQ(error_code_from_text(text), code);
    ErrorReply e{code, "why"};
    json j = e;
    EXPECT_EQ(j, json({{"code", text}, {"message", "why"}}));
    ErrorReply back = j.get<ErrorReply>();
    EXPECT_EQ(back.code, code);
    EXPECT_EQ(back.message, "why");
  }
  EXPECT_EQ(error_code_text(ErrorCode::kUnknownTarget), "E_UNKNOWN_TARGET");
  EXPECT_EQ(error_code_from_text("E_NOPE"), std::nullopt);
  EXPECT_EQ(json({{"code", "E_NOPE"}, {"message", "m"}}).get<ErrorReply>().code,
            ErrorCode::kUnknown);
}

}  // namespace
}  // namespace herd::manager
