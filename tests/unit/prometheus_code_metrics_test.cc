// The code metrics families of /metrics: only for instances that report, labelled as the rest.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "metrics/prometheus_text.h"

namespace herd::manager {
namespace {

using nlohmann::json;

TEST(PrometheusCodeMetrics, FamiliesOnlyForReportingInstances) {
  json list = json::array(
      {{{"name", "api"},
        {"pm_id", 2},
        {"pm2_env",
         {{"code_metrics",
           {{"heap_used_bytes", 1024}, {"loop_delay_p99_ms", 250}, {"gc_pause_total_ms", 1500}}}}}},
       {{"name", "plain"}, {"pm_id", 3}, {"pm2_env", json::object()}}});
  std::string t = prometheus_code_metrics(list);
  EXPECT_NE(t.find("# TYPE herd_node_heap_used_bytes gauge\n"
                   "herd_node_heap_used_bytes{app=\"api\",id=\"2\"} 1024\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("herd_node_eventloop_delay_p99_seconds{app=\"api\",id=\"2\"} 0.25\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE herd_node_gc_pause_seconds_total counter\n"
                   "herd_node_gc_pause_seconds_total{app=\"api\",id=\"2\"} 1.5\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("plain"), std::string::npos);
  EXPECT_EQ(t.find("herd_node_heap_size_bytes"), std::string::npos);  // nobody reported it
  EXPECT_NE(prometheus_text(list, 0).find("herd_node_heap_used_bytes{"), std::string::npos);
  EXPECT_EQ(prometheus_code_metrics(json::object()), "");
}

}  // namespace
}  // namespace herd::manager
