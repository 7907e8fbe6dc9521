// The health_check setting (app/health_check.h): its forms, its defaults, its round trip through
// AppSpec JSON, and the messages that name what is wrong.
#include "app/health_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/app_settings.h"
#include "app/app_spec.h"

namespace herd::manager {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(HealthCheckTest, ObjectFormWithDefaults) {
  auto c = health_check_from_json(json{{"http", "/healthz"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(c->path, "/healthz");
  EXPECT_EQ(c->port, 0);
  EXPECT_EQ(c->interval_ms, 5000u);
  EXPECT_EQ(c->timeout_ms, 2000u);
  EXPECT_EQ(c->failures, 3);
  EXPECT_EQ(c->successes, 1);
  EXPECT_TRUE(c->liveness);
  EXPECT_TRUE(c->readiness);
}

TEST(HealthCheckTest, CompactFormOfTheFlag) {
  auto c = parse_health_check("tcp,port=3000,interval=1s,timeout=500ms,failures=5,successes=2");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->kind, HealthCheck::Kind::kTcp);
  EXPECT_EQ(c->port, 3000);
  EXPECT_EQ(c->interval_ms, 1000u);
  EXPECT_EQ(c->timeout_ms, 500u);
  EXPECT_EQ(c->failures, 5);
  EXPECT_EQ(c->successes, 2);
  // exec takes the rest of the text, commas included.
  c = parse_health_check("interval=2s,exec=sh -c 'test -e a,b'");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->kind, HealthCheck::Kind::kExec);
  EXPECT_EQ(c->command, "sh -c 'test -e a,b'");
  EXPECT_EQ(c->interval_ms, 2000u);
  // A JSON object in the flag.
  c = parse_health_check(R"({"http": "/up", "initial_delay": "3s", "liveness": false})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->initial_delay_ms, 3000u);
  EXPECT_FALSE(c->liveness);
}

TEST(HealthCheckTest, BadValuesAreNamed) {
  struct Case {
    json value;
    const char* message;
  } cases[] = {
      {json{{"http", "/"}, {"interval", 0}}, "interval: expected a duration above 0, got 0"},
      {json{{"http", "/"}, {"interval", "-1s"}}, "interval: "},
      {json{{"http", "/"}, {"timeout", "0ms"}}, "timeout: expected a duration above 0"},
      {json{{"port", 3000}}, "give one of http, tcp or exec"},
      {json{{"http", "/"}, {"tcp", true}}, "give only one of http, tcp or exec"},
      {json{{"tcp", true}, {"port", 70000}}, "port: expected a port 1..65535, got 70000"},
      {json{{"exec", ""}}, "exec: expected a command, got \"\""},
      {json{{"exec", "'unterminated"}}, "exec: "},
      {json{{"http", "healthz"}}, "http: expected a path that starts with /"},
      {json{{"http", "/a b"}}, "http: expected a path without spaces"},
      {json{{"http", "/"}, {"failures", 0}}, "failures: expected a whole number 1..1000, got 0"},
      {json{{"http", "/"}, {"liveness", false}, {"readiness", false}}, "would do nothing"},
      {json{{"http", "/"}, {"intervall", "1s"}}, "unknown field 'intervall'"},
      {json(42), "expected an object"},
  };
  for (const Case& c : cases) {
    auto r = health_check_from_json(c.value);
    ASSERT_FALSE(r) << c.value.dump();
    EXPECT_THAT(r.error().context(), HasSubstr(c.message)) << c.value.dump();
  }
}

TEST(HealthCheckTest, RoundTripsThroughAppSpecJson) {
  AppSpec spec;
  spec.name = "web";
  spec.script = "./server";
  auto c = parse_health_check("http=/h,port=8080,interval=750ms,failures=4,readiness=false");
  ASSERT_TRUE(c);
  spec.health_check = *c;
  json j = to_json(spec);
  EXPECT_EQ(j["health_check"]["http"], "/h");
  EXPECT_EQ(j["health_check"]["interval"], 750);
  auto back = app_spec_from_json(j);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->health_check, spec.health_check);
  EXPECT_EQ(*back, spec);
  // Without a check, to_json leaves the key out.
  EXPECT_FALSE(to_json(AppSpec()).contains("health_check"));
}

TEST(HealthCheckTest, EcosystemKeyErrorsNameTheKey) {
  AppSpec spec;
  auto r = set_app_field(&spec, "health_check", json{{"tcp", true}, {"interval", 0}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().context(), HasSubstr("interval"));
  ASSERT_NE(find_setting_by_flag("--health-check"), nullptr);
}

}  // namespace
}  // namespace herd::manager
