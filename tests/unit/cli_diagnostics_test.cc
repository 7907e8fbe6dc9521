// The diagnostics in the CLI's output (format.h's marks and rows, format_diagnostics.h's
// sparkline and bars, the monit screen's extra columns), from jlist JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/render/format.h"
#include "cli/render/format_diagnostics.h"
#include "cli/render/monit_view.h"

namespace herd::cli {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1795850400000;

json process(int id, json diagnostics, const std::string& mode = "cluster_mode") {
  return {{"pid", 4100 + id},
          {"name", "api"},
          {"pm_id", id},
          {"monit", {{"memory", 3280896}, {"cpu", 12.5}}},
          {"pm2_env",
           {{"status", "online"},
            {"restart_time", 0},
            {"pm_uptime", kNow - 90'000},
            {"exec_mode", mode},
            {"diagnostics", std::move(diagnostics)}}}};
}

json leaking() {
  return {{"memory",
           {{"growth_bytes_per_s", 1048576.0},
            {"r2", 0.998},
            {"leak", true},
            {"warming_up", false},
            {"window_ms", 600000},
            {"covered_ms", 599000},
            {"threshold_bytes_per_s", 10240},
            {"limit_bytes", 1073741824},
            {"seconds_to_limit", 900},
            {"history", {100, 200, 300, 400}}}},
          {"load",
           {{"window_ms", 60000},
            {"accepted_total", 1000},
            {"accepted_in_window", 750},
            {"connection_share", 0.75},
            {"cpu_share", 0.6},
            {"imbalance", true}}}};
}

TEST(CliDiagnostics, Marks) {
  EXPECT_EQ(diagnostic_marks(process(0, leaking())), " leak? imbalance");
  EXPECT_EQ(diagnostic_marks(process(0, json::object())), "");
  EXPECT_EQ(diagnostic_marks(json("nonsense")), "");
  EXPECT_EQ(diagnostic_marks(process(0, {{"memory", {{"leak", "yes"}}}})), "");
}

TEST(CliDiagnostics, DescribeRows) {
  auto rows = diagnostic_rows(process(0, leaking()));
  std::map<std::string, std::string> by_label(rows.begin(), rows.end());
  EXPECT_EQ(by_label["memory growth"], "+1.0mb/s over the last 9m (r² 1.00)");
  EXPECT_EQ(by_label["memory leak?"], "yes: grew steadily for 10m above +10.0kb/s");
  EXPECT_EQ(by_label["memory limit in"], "15m at this rate (limit 1.0gb)");
  EXPECT_EQ(by_label["connection share"], "75% (750 accepted in the last 60s, 1000 in all)");
  EXPECT_EQ(by_label["cpu share"], "60%");
  EXPECT_EQ(by_label["imbalance"], "yes: more than twice the others' mean over 60s");
  // While warming up, and in fork mode (no load part).
  rows = diagnostic_rows(process(
      0,
      {{"memory", {{"growth_bytes_per_s", nullptr}, {"warming_up", true}, {"window_ms", 600000}}}},
      "fork_mode"));
  by_label = {rows.begin(), rows.end()};
  EXPECT_EQ(by_label["memory growth"], "warming up");
  EXPECT_EQ(by_label.count("connection share"), 0u);
  // describe shows them.
  std::string out = format_describe(process(0, leaking()), {.now_ms = kNow});
  EXPECT_NE(out.find("online leak? imbalance"), std::string::npos) << out;
  EXPECT_NE(out.find("memory growth"), std::string::npos) << out;
}

TEST(CliDiagnostics, LsMarksTheStatus) {
  std::string out = format_list(json::array({process(0, leaking())}), {.now_ms = kNow});
  EXPECT_NE(out.find("online leak? imbalance"), std::string::npos) << out;
}

TEST(CliDiagnostics, RatesSparklinesAndBars) {
  EXPECT_EQ(format_rate(1048576), "+1.0mb/s");
  EXPECT_EQ(format_rate(-512), "-512b/s");
  EXPECT_EQ(format_rate(0), "0b/s");
  EXPECT_EQ(sparkline({1, 2, 3, 4, 5, 6, 7, 8}, 8, true), "▁▂▃▄▅▆▇█");
  EXPECT_EQ(sparkline({5, 5, 5}, 8, true), "▁▁▁");
  EXPECT_EQ(sparkline({0, 100}, 8, false), " #");
  EXPECT_EQ(sparkline({9, 1, 2}, 2, true), "▁█");  // the newest values, scaled among themselves
  EXPECT_EQ(sparkline({}, 8, true), "");
  EXPECT_EQ(share_bar(0.5, 8, true), "████░░░░");
  EXPECT_EQ(share_bar(1.5, 4, false), "####");
  EXPECT_EQ(share_bar(-1, 4, false), "----");
}

TEST(CliDiagnostics, MonitShowsTrendAndShareColumnsWhenReported) {
  MonitModel m;
  json other = leaking();
  other["memory"]["leak"] = false;
  other["load"]["connection_share"] = 0.25;
  other["load"]["imbalance"] = false;
  m.set_processes(json::array({process(0, leaking()), process(1, other)}), kNow);
  auto lines = m.render(120, 12, true);
  std::string header = lines[1].text();
  EXPECT_NE(header.find("memory"), std::string::npos) << header;
  EXPECT_NE(header.find("conn share"), std::string::npos) << header;
  std::string row0 = lines[2].text(), row1 = lines[3].text();
  EXPECT_NE(row0.find("online leak? imbalance"), std::string::npos) << row0;
  EXPECT_NE(row0.find("▁▃▅█"), std::string::npos) << row0;
  EXPECT_NE(row0.find("██████░░ 75%"), std::string::npos) << row0;
  EXPECT_NE(row1.find("██░░░░░░ 25%"), std::string::npos) << row1;
  EXPECT_EQ(row1.find("leak?"), std::string::npos) << row1;
  // ASCII terminals.
  lines = m.render(120, 12, false);
  EXPECT_NE(lines[2].text().find("######-- 75%"), std::string::npos) << lines[2].text();
  // Without diagnostics (an older daemon): no extra columns.
  m.set_processes(json::array({process(0, json::object())}), kNow);
  EXPECT_EQ(m.render(120, 12, true)[1].text().find("memory"), std::string::npos);
}

}  // namespace
}  // namespace herd::cli
