// Malformed control requests (wrong field types, deep nesting) are answered with E_BAD_REQUEST
// and the daemon, and every app it runs, carries on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "e2e/herd_fixture.h"
#include "e2e/raw_control.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

class ControlHardeningTest : public HerdTest {
 protected:
  // Starts app "web" (one sleeping instance) and returns its pid.
  pid_t start_web() {
    std::string script = write_script("web.sh", "exec sleep 1000\n");
    CommandResult r = herd({"start", script, "--name", "web"});
    EXPECT_EQ(r.exit_code, 0) << r;
    Json list;
    EXPECT_TRUE(wait_status("web", "online", 1, kWaitTimeout, &list));
    return instance(list, "web").value("pid", 0);
  }

  // The reply to `line`, parsed (a test failure and an empty object when it is not JSON).
  Json send(const std::string& line) {
    std::string reply = raw_request(path("herd.sock"), line, 10s);
    Json j = Json::parse(reply, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << reply.substr(0, 300);
    return j.is_discarded() ? Json::object() : j;
  }

  // The daemon still answers, and `pid` (the app) still runs.
  void expect_alive(pid_t pid) {
    CommandResult r = herd({"ping"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(::kill(pid, 0), 0) << "the app died with the request";
    Json web = instance(jlist(), "web");
    EXPECT_EQ(web.value("pid", 0), pid);
  }
};

TEST_F(ControlHardeningTest, MalformedControlRequestsDoNotKillTheDaemon) {
  pid_t pid = start_web();
  ASSERT_GT(pid, 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"id":1,"verb":"scale","app":"web","count":2})", "count"},
      {R"({"id":2,"verb":"scale","app":1,"count":"2"})", "app"},
      {R"({"id":3,"verb":"signal","signal":[],"targets":["web"]})", "signal"},
      {R"({"id":4,"verb":"env","target":{}})", "target"},
      {R"({"id":5,"verb":"stop","targets":"web"})", "targets"},
      {R"({"id":6,"verb":"stop","targets":[{}]})", "targets"},
      {R"({"id":7,"verb":"restart","targets":["web"],"update_env":[1]})", "update_env"},
      {R"({"id":8,"verb":"reload","targets":["web"],"parallel":1e300})", "parallel"},
      {R"({"id":9,"verb":"reload","targets":["web"],"parallel":-5})", "parallel"},
      {R"({"id":10,"verb":"start","apps":[1]})", "apps"},
      {R"({"id":11,"verb":"save","force":"yes"})", "force"},
      {R"({"id":12,"verb":"restart","targets":["web"],"update_env":{"A":{}}})", "update_env"},
  };
  for (const auto& [line, field] : cases) {
    SCOPED_TRACE(line);
    Json j = send(line);
    EXPECT_EQ(j.value("ok", true), false);
    EXPECT_EQ(j["error"].value("code", ""), "E_BAD_REQUEST");
    EXPECT_THAT(j["error"].value("message", ""), HasSubstr(field));
    EXPECT_FALSE(j["id"].is_null()) << "the reply echoes the id";
  }
  expect_alive(pid);
}

// A field the verb does not take is refused with one sentence naming field and verb, before
// the verb runs: a misspelt option must not pass silently.
TEST_F(ControlHardeningTest, UnknownFieldIsRefused) {
  pid_t pid = start_web();
  ASSERT_GT(pid, 0);
  Json j = send(R"({"id":21,"verb":"stop","targets":["web"],"force":true})");
  EXPECT_EQ(j.value("ok", true), false) << j.dump();
  EXPECT_EQ(j["id"], 21);
  EXPECT_EQ(j["error"].value("code", ""), "E_BAD_REQUEST");
  EXPECT_EQ(j["error"].value("message", ""),
            "unknown field \"force\" for verb 'stop' (it takes: targets)");
  // The unknown verb keeps its code and sentence.
  j = send(R"({"id":22,"verb":"stopp","targets":["web"]})");
  EXPECT_EQ(j["error"].value("code", ""), "E_UNKNOWN_VERB");
  EXPECT_EQ(j["error"].value("message", ""), "unknown verb 'stopp'");
  // Nothing was stopped; the same request without the stray field works.
  expect_alive(pid);
  j = send(R"({"id":23,"verb":"describe","targets":["web"]})");
  EXPECT_EQ(j.value("ok", false), true) << j.dump();
}

TEST_F(ControlHardeningTest, DeeplyNestedControlRequestIsRefused) {
  pid_t pid = start_web();
  ASSERT_GT(pid, 0);
  for (const char* open_close : {"[]", "{}"}) {
    std::string deep;
    const int depth = 100000;
    for (int i = 0; i < depth; ++i) {
      if (open_close[0] == '[') {
        deep += '[';
      } else {
        deep += "{\"a\":";
      }
    }
    deep += "1";
    for (int i = 0; i < depth; ++i) deep += open_close[1];
    Json j = send(R"({"verb":"ping","id":)" + deep + "}");
    EXPECT_EQ(j.value("ok", true), false);
    EXPECT_EQ(j["error"].value("code", ""), "E_BAD_REQUEST");
    EXPECT_THAT(j["error"].value("message", ""), HasSubstr("64 levels"));
  }
  // 64 levels are still fine.
  std::string ok_id;
  for (int i = 0; i < 63; ++i) ok_id += '[';
  for (int i = 0; i < 63; ++i) ok_id += ']';
  Json j = send(R"({"verb":"ping","id":)" + ok_id + "}");
  EXPECT_EQ(j.value("ok", false), true) << j.dump();
  expect_alive(pid);
}

TEST_F(ControlHardeningTest, TargetRegexIsBounded) {
  pid_t pid = start_web();
  ASSERT_GT(pid, 0);
  std::string script = write_script("a.sh", "exec sleep 1000\n");
  std::string name = std::string(28, 'a') + "-x";
  ASSERT_EQ(herd({"start", script, "--name", name}).exit_code, 0);
  ASSERT_TRUE(wait_status(name, "online"));
  // Exponential for a backtracking matcher: here it answers at once (within the deadline).
  CommandResult r = herd({"describe", "/(a+)+$/"}, {}, 10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0) << r;  // nothing matches
  EXPECT_THAT(r.err, HasSubstr("no app or id matches")) << r;
  r = herd({"describe", "/^(a+)+-x$/"}, {}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r;
  // Too long to compile safely: refused with a reason, the daemon unharmed.
  r = herd({"describe", std::string("/").append(100000, 'a').append("/")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("longer than 256 bytes")) << r;
  r = herd({"stop", "/(a)\\1/"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("back-references")) << r;
  expect_alive(pid);
}

}  // namespace
}  // namespace herd::e2e
