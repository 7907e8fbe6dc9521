// The Prometheus text of a process list: golden output, label escaping, odd input.
#include "metrics/prometheus_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace herd::manager {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1795850400000;

// An online cluster instance that was restarted twice and reloaded once, and an errored one
// without a process (and from a daemon that counts reloads in pm2_env).
json fixture() {
  return json::parse(R"json([
  { "pid": 4101, "name": "api", "pm_id": 0, "reloads": 1,
    "monit": { "memory": 3280896, "cpu": 1.5, "cpu_time_ms": 12345 },
    "pm2_env": { "status": "online", "restart_time": 2, "pm_uptime": 1795850338766 } },
  { "pid": 0, "name": "worker", "pm_id": 2,
    "monit": { "memory": 0, "cpu": 0, "cpu_time_ms": 0 },
    "pm2_env": { "status": "errored", "restart_time": 16, "pm_uptime": 1795849000000,
                 "reloads": 3 } }
  ])json");
}

// The health families: a sample for each instance with a check (pm2_env.health), none else.
TEST(PrometheusText, HealthOfInstancesWithACheck) {
  json list = fixture();
  list[0]["pm2_env"]["health"] = {{"status", "healthy"}, {"latency_ms", 1.5}};
  std::string text = prometheus_text(list, kNow);
  EXPECT_NE(text.find("# TYPE herd_process_healthy gauge\n"
                      "herd_process_healthy{app=\"api\",id=\"0\"} 1\n#"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_health_check_duration_seconds{app=\"api\",id=\"0\"} 0.001500\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("herd_process_healthy{app=\"worker\""), std::string::npos) << text;
  list[0]["pm2_env"]["health"]["status"] = "unhealthy";
  EXPECT_NE(prometheus_text(list, kNow).find("herd_process_healthy{app=\"api\",id=\"0\"} 0\n"),
            std::string::npos);
}

// The diagnostics families (pm2_env.diagnostics): a sample where the figure is reported.
TEST(PrometheusText, DiagnosticsWhereReported) {
  json list = fixture();
  list[0]["pm2_env"]["diagnostics"] = {
      {"memory", {{"growth_bytes_per_s", 1048576.5}, {"leak", true}}},
      {"load", {{"connection_share", 0.75}, {"accepted_total", 1234}, {"imbalance", false}}}};
  list[1]["pm2_env"]["diagnostics"] = {
      {"memory", {{"growth_bytes_per_s", nullptr}, {"leak", false}}}};
  std::string text = prometheus_text(list, kNow);
  EXPECT_NE(text.find("# TYPE herd_process_memory_growth_bytes_per_second gauge\n"
                      "herd_process_memory_growth_bytes_per_second{app=\"api\",id=\"0\"} "
                      "1048576.5\n#"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_process_memory_leak_suspected{app=\"api\",id=\"0\"} 1\n"
                      "herd_process_memory_leak_suspected{app=\"worker\",id=\"2\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_process_connection_share{app=\"api\",id=\"0\"} 0.75\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE herd_process_accepted_connections_total counter\n"
                      "herd_process_accepted_connections_total{app=\"api\",id=\"0\"} 1234\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_process_load_imbalance{app=\"api\",id=\"0\"} 0\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("growth_bytes_per_second{app=\"worker\""), std::string::npos) << text;
  EXPECT_EQ(text.find("connection_share{app=\"worker\""), std::string::npos) << text;
}

TEST(PrometheusText, EveryFamilyWithHelpTypeAndOneSamplePerInstance) {
  EXPECT_EQ(prometheus_text(fixture(), kNow),
            "# HELP herd_process_cpu_seconds_total CPU time (user and system) used by the "
            "instance's process, in seconds.\n"
            "# TYPE herd_process_cpu_seconds_total counter\n"
            "herd_process_cpu_seconds_total{app=\"api\",id=\"0\"} 12.345\n"
            "herd_process_cpu_seconds_total{app=\"worker\",id=\"2\"} 0.000\n"
            "# HELP herd_process_resident_memory_bytes Resident memory of the instance's "
            "process, in bytes.\n"
            "# TYPE herd_process_resident_memory_bytes gauge\n"
            "herd_process_resident_memory_bytes{app=\"api\",id=\"0\"} 3280896\n"
            "herd_process_resident_memory_bytes{app=\"worker\",id=\"2\"} 0\n"
            "# HELP herd_process_restarts_total Restarts of the instance (crashes and "
            "requests).\n"
            "# TYPE herd_process_restarts_total counter\n"
            "herd_process_restarts_total{app=\"api\",id=\"0\"} 2\n"
            "herd_process_restarts_total{app=\"worker\",id=\"2\"} 16\n"
            "# HELP herd_process_up 1 when the instance is online, 0 otherwise.\n"
            "# TYPE herd_process_up gauge\n"
            "herd_process_up{app=\"api\",id=\"0\"} 1\n"
            "herd_process_up{app=\"worker\",id=\"2\"} 0\n"
            "# HELP herd_process_uptime_seconds Seconds since the instance's current process "
            "started; 0 when none runs.\n"
            "# TYPE herd_process_uptime_seconds gauge\n"
            "herd_process_uptime_seconds{app=\"api\",id=\"0\"} 61.234\n"
            "herd_process_uptime_seconds{app=\"worker\",id=\"2\"} 0.000\n"
            "# HELP herd_reloads_total Reloads of the instance.\n"
            "# TYPE herd_reloads_total counter\n"
            "herd_reloads_total{app=\"api\",id=\"0\"} 1\n"
            "herd_reloads_total{app=\"worker\",id=\"2\"} 3\n");
}

TEST(PrometheusText, AnEmptyListStillDeclaresEveryFamily) {
  for (const json& list : {json::array(), json::object(), json("nonsense"), json()}) {
    std::string text = prometheus_text(list, kNow);
    EXPECT_EQ(text.find('{'), std::string::npos) << text;
    for (const char* family :
         {"herd_process_cpu_seconds_total counter", "herd_process_resident_memory_bytes gauge",
          "herd_process_restarts_total counter", "herd_process_up gauge",
          "herd_process_uptime_seconds gauge", "herd_reloads_total counter"}) {
      EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
    }
  }
}

TEST(PrometheusText, MissingOrMistypedFieldsCountAsZero) {
  json list = json::parse(R"json([
    { "name": "bare", "pm_id": 7 },
    { "pid": "12", "name": "odd", "pm_id": 8, "monit": { "memory": -5, "cpu_time_ms": "9" },
      "pm2_env": { "status": 1, "restart_time": "x", "pm_uptime": null, "reloads": -2 } },
    "not an object"
  ])json");
  std::string text = prometheus_text(list, kNow);
  for (const char* series : {"{app=\"bare\",id=\"7\"}", "{app=\"odd\",id=\"8\"}"}) {
    for (const char* family : {"herd_process_resident_memory_bytes", "herd_process_restarts_total",
                               "herd_process_up", "herd_reloads_total"}) {
      std::string line = std::string(family) + series + " 0\n";
      EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
    }
    for (const char* family : {"herd_process_cpu_seconds_total", "herd_process_uptime_seconds"}) {
      std::string line = std::string(family) + series + " 0.000\n";
      EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
    }
  }
}

TEST(PrometheusText, UptimeCountsOnlyWhileAProcessRuns) {
  json list = json::parse(R"json([
    { "pid": 50, "name": "a", "pm_id": 0, "pm2_env": { "status": "launching",
      "pm_uptime": 1795850399999 } },
    { "pid": 51, "name": "b", "pm_id": 1, "pm2_env": { "status": "online",
      "pm_uptime": 1795850400500 } }
  ])json");
  std::string text = prometheus_text(list, kNow);
  // Launching: running, not up. A start "in the future" (clock skew) is 0, never negative.
  EXPECT_NE(text.find("herd_process_uptime_seconds{app=\"a\",id=\"0\"} 0.001\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_process_up{app=\"a\",id=\"0\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("herd_process_uptime_seconds{app=\"b\",id=\"1\"} 0.000\n"),
            std::string::npos);
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_escape_label("plain-name_1"), "plain-name_1");
  EXPECT_EQ(prometheus_escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(prometheus_escape_label("caf\xC3\xA9 \xE2\x86\xBA"), "caf\xC3\xA9 \xE2\x86\xBA");
  // Invalid UTF-8 (a stray continuation byte, a truncated sequence, an overlong '/').
  EXPECT_EQ(prometheus_escape_label("x\x80y\xE2\x86"), "x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(prometheus_escape_label("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");

  json list = json::array({{{"pid", 1}, {"name", "we\"ird\\app"}, {"pm_id", 3}}});
  EXPECT_NE(
      prometheus_text(list, kNow).find("herd_process_up{app=\"we\\\"ird\\\\app\",id=\"3\"} 0"),
      std::string::npos);
}

}  // namespace
}  // namespace herd::manager
