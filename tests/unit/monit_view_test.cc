// The `herd monit` screen without a terminal: layout at several sizes, selection and scrolling,
// the log pane, ASCII fallback and sanitizing.
#include "cli/render/monit_view.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1795850400000;

json process(int id, const std::string& name, const std::string& status, int pid,
             std::int64_t started = kNow - 90'000, int restarts = 0) {
  return {{"pid", pid},
          {"name", name},
          {"pm_id", id},
          {"monit", {{"memory", 3280896}, {"cpu", 12.5}}},
          {"pm2_env",
           {{"status", status},
            {"restart_time", restarts},
            {"pm_uptime", started},
            {"exec_mode", id < 2 ? "cluster_mode" : "fork_mode"}}}};
}

json fixture() {
  return json::array({process(0, "api", "online", 4101, kNow - 90'000, 3),
                      process(1, "api", "online", 4102),
                      process(2, "worker", "errored", 0, kNow - 5'000, 16)});
}

std::vector<std::string> texts(const std::vector<MonitLine>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.text());
  return out;
}

int selected_row(const std::vector<MonitLine>& lines) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].selected) return static_cast<int>(i);
  }
  return -1;
}

TEST(MonitView, LaysOutTitleTableRuleLogAndFooter) {
  MonitModel m;
  m.set_processes(fixture(), kNow);
  m.add_log_line(0, "api", false, "listening on :8080");
  m.add_log_line(1, "api", true, "warning: slow request");
  auto lines = m.render(100, 12, true);
  ASSERT_EQ(lines.size(), 12u);
  auto t = texts(lines);
  EXPECT_EQ(t[0], " herd monit   2 apps, 3 processes, 2 online");
  EXPECT_EQ(t[1], " id  name    mode     pid   status           cpu    mem       \u21ba   uptime");
  EXPECT_EQ(t[2], " 0   api     cluster  4101  online           12.5%  3.1mb     3   90s   ");
  EXPECT_EQ(t[3], " 1   api     cluster  4102  online           12.5%  3.1mb     0   90s   ");
  EXPECT_EQ(t[4], " 2   worker  fork     -     errored          0%     0b        16  0     ");
  EXPECT_EQ(t[5].rfind("\u2500\u2500 logs: api \u2500", 0), 0u) << t[5];
  EXPECT_EQ(display_width(t[5]), 100u);
  EXPECT_EQ(t[6], "0|api | listening on :8080");
  EXPECT_EQ(t[7], "1|api | warning: slow request");
  for (int i = 8; i < 11; ++i) EXPECT_EQ(t[i], "") << i;
  EXPECT_EQ(t[11], " \u2191/\u2193 or j/k select   PgUp/PgDn   q quit");
  EXPECT_EQ(selected_row(lines), 2);
  // Styles: the status cell by status, stderr lines as errors.
  EXPECT_EQ(lines[2].spans[4].style, MonitStyle::kOnline);
  EXPECT_EQ(lines[4].spans[4].style, MonitStyle::kError);
  EXPECT_EQ(lines[6].spans.back().style, MonitStyle::kNormal);
  EXPECT_EQ(lines[7].spans.back().style, MonitStyle::kError);
}

TEST(MonitView, NoLineIsWiderThanTheScreen) {
  MonitModel m;
  json list = fixture();
  list.push_back(process(3, "a-very-long-application-name-that-goes-on", "waiting restart", 0));
  m.set_processes(list, kNow);
  m.add_log_line(0, "api", false, std::string(500, 'x'));
  m.add_log_line(0, "api", false, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E wide characters");
  for (int width : {40, 41, 57, 80, 132, 300}) {
    for (int height : {8, 9, 24, 60}) {
      auto lines = m.render(width, height, true);
      EXPECT_EQ(lines.size(), static_cast<std::size_t>(height));
      for (const auto& l : lines) {
        EXPECT_LE(display_width(l.text()), static_cast<std::size_t>(width))
            << width << "x" << height << ": '" << l.text() << "'";
      }
    }
  }
}

TEST(MonitView, ATooSmallScreenSaysSo) {
  MonitModel m;
  m.set_processes(fixture(), kNow);
  auto lines = m.render(39, 30, true);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text(), "terminal too small (39x30); herd monit\u2026");
  lines = m.render(80, 7, true);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text(), "terminal too small (80x7); herd monit needs 40x8");
  EXPECT_TRUE(m.render(0, 0, true).empty());
}

TEST(MonitView, SelectionMovesClampsAndFollowsThePmIdAcrossRefreshes) {
  MonitModel m;
  EXPECT_EQ(m.selected(), nullptr);
  m.move_selection(1);  // nothing to select: no effect
  m.set_processes(fixture(), kNow);
  EXPECT_EQ(m.selected()->id, 0);
  EXPECT_EQ(m.selected_app_ids(), (std::vector<int>{0, 1}));
  m.move_selection(1);
  EXPECT_EQ(m.selected()->id, 1);
  m.move_selection(5);
  EXPECT_EQ(m.selected()->id, 2);
  EXPECT_EQ(m.selected_app_ids(), (std::vector<int>{2}));
  m.move_selection(-100);
  EXPECT_EQ(m.selected()->id, 0);
  m.move_selection(1);

  // The list comes back in another order with a new process first: still pm_id 1.
  json list =
      json::array({process(7, "new", "launching", 999), fixture()[2], fixture()[1], fixture()[0]});
  m.set_processes(list, kNow);
  EXPECT_EQ(m.selected()->id, 1);
  EXPECT_EQ(m.processes().front().id, 0);  // by pm_id
  // Its process is gone: the selection stays at the same position, clamped.
  m.set_processes(json::array({fixture()[0]}), kNow);
  EXPECT_EQ(m.selected()->id, 0);
  m.set_processes(json::array(), kNow);
  EXPECT_EQ(m.selected(), nullptr);
  EXPECT_TRUE(m.selected_app_ids().empty());
  auto t = texts(m.render(80, 10, true));
  EXPECT_EQ(t[2], " no process: start one with `herd start <script>`");
  EXPECT_EQ(t[3].rfind("\u2500\u2500 logs \u2500", 0), 0u) << t[3];
}

TEST(MonitView, ALongListScrollsToKeepTheSelectionVisible) {
  MonitModel m;
  json list = json::array();
  for (int i = 0; i < 40; ++i)
    list.push_back(process(i, "app" + std::to_string(i), "online", 100 + i));
  m.set_processes(list, kNow);
  // 20 lines: 16 for rows and log, half of it (8) for rows.
  auto lines = m.render(80, 20, true);
  EXPECT_EQ(lines[2].text().rfind(" 0 ", 0), 0u);
  EXPECT_EQ(lines[10].text().rfind("\u2500\u2500 logs: app0 ", 0), 0u) << lines[10].text();
  EXPECT_EQ(selected_row(lines), 2);
  m.move_selection(20);
  lines = m.render(80, 20, true);
  int row = selected_row(lines);
  ASSERT_GE(row, 2);
  ASSERT_LT(row, 10);
  EXPECT_EQ(lines[static_cast<std::size_t>(row)].text().rfind(" 20 ", 0), 0u);
  m.move_selection(100);
  lines = m.render(80, 20, true);
  EXPECT_EQ(selected_row(lines), 9);
  EXPECT_EQ(lines[9].text().rfind(" 39 ", 0), 0u);
}

TEST(MonitView, TheLogPaneShowsTheNewestLinesThatFitAndKeepsABoundedHistory) {
  MonitModel m;
  m.set_processes(fixture(), kNow);
  for (std::size_t i = 0; i < MonitModel::kMaxLogLines + 50; ++i) {
    m.add_log_line(0, "api", false, "line-" + std::to_string(i));
  }
  EXPECT_EQ(m.log_size(), MonitModel::kMaxLogLines);
  auto t = texts(m.render(80, 12, true));
  // 12 lines: title, header, 3 rows, rule, 5 log lines, footer.
  EXPECT_EQ(t[6], "0|api | line-1045");
  EXPECT_EQ(t[10], "0|api | line-1049");
  m.clear_log();
  EXPECT_EQ(m.log_size(), 0u);
}

TEST(MonitView, MessagesReplaceTheKeysInTheFooter) {
  MonitModel m;
  m.set_processes(fixture(), kNow);
  m.set_message("the daemon does not answer; q quits", true);
  auto lines = m.render(80, 10, true);
  EXPECT_EQ(lines.back().text(), " the daemon does not answer; q quits");
  EXPECT_EQ(lines.back().spans[0].style, MonitStyle::kError);
  m.set_message("", false);
  EXPECT_NE(m.render(80, 10, true).back().text().find("q quit"), std::string::npos);
}

TEST(MonitView, AppTextCannotDriveTheTerminalAndAsciiModeStaysAscii) {
  MonitModel m;
  json list = json::array({process(0, "ev\x1b[2Jil\xC3\xA9", "online", 10)});
  m.set_processes(list, kNow);
  m.add_log_line(0, "ev\x1b[2Jil\xC3\xA9", false, "bell\x07 and \x1b]0;title\x07 caf\xC3\xA9");
  for (bool unicode : {true, false}) {
    for (const auto& l : m.render(80, 10, unicode)) {
      std::string text = l.text();
      for (char c : text) {
        EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << "control byte in '" << text << "'";
        if (!unicode) {
          EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "'" << text << "'";
        }
      }
    }
  }
  auto ascii = texts(m.render(80, 10, false));
  EXPECT_EQ(ascii[1],
            " id  name       mode     pid  status           cpu    mem       rst  uptime");
  EXPECT_EQ(ascii[3].rfind("-- logs: ev?[2Jil? ---", 0), 0u) << ascii[3];
  EXPECT_EQ(ascii[4], "0|ev?[2Jil? | bell? and ?]0;title? caf?");
  EXPECT_EQ(ascii[9], " up/down or j/k select   PgUp/PgDn   q quit");
}

TEST(MonitView, FitColumnsCutsAtCharactersAndPads) {
  EXPECT_EQ(fit_columns("abc", 5, true), "abc  ");
  EXPECT_EQ(fit_columns("abcdef", 4, true), "abc\u2026");
  EXPECT_EQ(fit_columns("abcdef", 4, false), "abc~");
  EXPECT_EQ(fit_columns("abcd", 4, true), "abcd");
  EXPECT_EQ(fit_columns("", 0, true), "");
  EXPECT_EQ(fit_columns("abc", 0, true), "");
  // A two-column character never straddles the cut.
  EXPECT_EQ(fit_columns("a\xE6\x97\xA5\xE6\x9C\xAC", 4, true), "a\xE6\x97\xA5\u2026");
  EXPECT_EQ(fit_columns("\xE6\x97\xA5\xE6\x9C\xAC", 3, true), "\xE6\x97\xA5\u2026");
  EXPECT_EQ(fit_columns("caf\xC3\xA9", 6, false), "caf?  ");
}

}  // namespace
}  // namespace herd::cli

namespace herd::cli {
namespace {

// The selected instance's code metrics (docs/diagnostics.md) on one line above the log rule;
// none for an instance that reports none.
TEST(MonitView, ShowsTheSelectedInstancesCodeMetrics) {
  json list = fixture();
  list[0]["pm2_env"]["code_metrics"] = {{"heap_used_bytes", 1048576},
                                        {"heap_total_bytes", 2097152},
                                        {"loop_delay_p99_ms", 201},
                                        {"loop_delay_max_ms", 210}};
  MonitModel m;
  m.set_processes(list, kNow);
  auto t = texts(m.render(100, 12, true));
  bool shown = false;
  for (const auto& line : t) {
    shown =
        shown || line.find("heap 1.0/2.0 MiB  loop p99 201.0 ms max 210.0 ms") != std::string::npos;
  }
  EXPECT_TRUE(shown);
  m.move_selection(1);
  for (const auto& line : texts(m.render(100, 12, true))) {
    EXPECT_EQ(line.find("heap "), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace herd::cli
