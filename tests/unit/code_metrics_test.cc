// CodeMetrics: a program's report is untrusted input; out-of-bounds or ill-typed reports are
// dropped whole, unknown fields ignored, and jlist shows the last good one.
#include "daemon/code_metrics.h"

#include <gtest/gtest.h>

#include <limits>

namespace herd::manager {
namespace {

using nlohmann::json;

TEST(CodeMetricsReport, TakesAValidReportAndShowsItWithItsAge) {
  CodeMetrics m;
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.to_json(5).is_null());
  json r = {{"herd", "metrics"},
            {"heap_used_bytes", 1048576},
            {"loop_delay_p99_ms", 201.5},
            {"loop_utilization", 0.25},
            {"from_the_future", "ignored"}};
  ASSERT_TRUE(m.update(r, "node", 1000));
  json j = m.to_json(1400);
  EXPECT_EQ(j["heap_used_bytes"], 1048576);
  EXPECT_TRUE(j["heap_used_bytes"].is_number_unsigned());
  EXPECT_DOUBLE_EQ(j["loop_delay_p99_ms"].get<double>(), 201.5);
  EXPECT_EQ(j["source"], "node");
  EXPECT_EQ(j["age_ms"], 400);
  EXPECT_FALSE(j.contains("from_the_future"));
  EXPECT_FALSE(j.contains("heap_total_bytes"));  // not reported: not shown
  EXPECT_EQ(m.to_axm_monitor()["Used Heap Size"]["value"], "1.00");
  m.clear();
  EXPECT_TRUE(m.empty());
}

TEST(CodeMetricsReport, DropsBadReportsWholeAndKeepsTheLastGoodOne) {
  CodeMetrics m;
  ASSERT_TRUE(m.update({{"heap_used_bytes", 10}}, "node", 1));
  const json bad[] = {
      json::array({1, 2}),
      json("metrics"),
      {{"heap_used_bytes", -1}},
      {{"heap_used_bytes", "10"}},
      {{"heap_used_bytes", 1e16}},
      {{"loop_utilization", 1.5}},
      {{"heap_used_bytes", 5}, {"active_handles", nullptr}},
      {{"herd", "metrics"}},  // nothing known in it
      {{"loop_delay_max_ms", std::numeric_limits<double>::infinity()}},
  };
  for (const json& r : bad) {
    EXPECT_FALSE(m.update(r, "node", 2)) << r.dump();
  }
  EXPECT_EQ(m.rejected(), std::size(bad));
  EXPECT_EQ(m.to_json(3)["heap_used_bytes"], 10);
}

}  // namespace
}  // namespace herd::manager
