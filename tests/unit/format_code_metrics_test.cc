// describe's "Code metrics value" table and monit's line, from jlist's pm2_env.code_metrics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/render/format.h"

namespace herd::cli {
namespace {

using nlohmann::json;

json with_metrics(json m) { return {{"name", "api"}, {"pm2_env", {{"code_metrics", m}}}}; }

TEST(FormatCodeMetrics, ShowsWhatTheProgramReports) {
  json p = with_metrics({{"heap_total_bytes", 2097152},
                         {"heap_used_bytes", 1048576},
                         {"loop_delay_p50_ms", 0.5},
                         {"loop_delay_p99_ms", 201},
                         {"loop_delay_max_ms", 210},
                         {"loop_utilization", 0.2},
                         {"active_handles", 3},
                         {"age_ms", 400}});
  std::string t = format_code_metrics(p, false);
  EXPECT_NE(t.find(" Code metrics value\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Used Heap Size"), std::string::npos) << t;
  EXPECT_NE(t.find("1.00 MiB"), std::string::npos) << t;
  EXPECT_NE(t.find("Heap Usage"), std::string::npos) << t;
  EXPECT_NE(t.find("50.0 %"), std::string::npos) << t;
  EXPECT_NE(t.find("0.50 ms / 201.00 ms / 210.00 ms"), std::string::npos) << t;
  EXPECT_NE(t.find("0.4 s ago"), std::string::npos) << t;
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  EXPECT_EQ(code_metrics_summary(p),
            "heap 1.0/2.0 MiB  loop p99 201.0 ms max 210.0 ms  elu 20%  handles 3");
  // The describe view carries the table.
  EXPECT_NE(format_describe(p, {}).find("Code metrics value"), std::string::npos);
}

TEST(FormatCodeMetrics, NothingWithoutReportsOrWithOddInput) {
  EXPECT_EQ(format_code_metrics(json::object(), false), "");
  EXPECT_EQ(format_code_metrics(json::array(), false), "");
  EXPECT_EQ(format_code_metrics({{"pm2_env", {{"code_metrics", "x"}}}}, false), "");
  EXPECT_EQ(format_code_metrics(with_metrics({{"heap_used_bytes", "big"}}), false), "");
  EXPECT_EQ(code_metrics_summary(json(3)), "");
  EXPECT_EQ(format_describe({{"name", "x"}}, {}).find("Code metrics"), std::string::npos);
}

}  // namespace
}  // namespace herd::cli
