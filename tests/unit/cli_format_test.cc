#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/render/format.h"
#include "cli/render/table.h"
#include "unit/cli_format_util.h"

namespace herd::cli {
namespace {

using nlohmann::json;

// ---- ls ---------------------------------------------------------------------------------

TEST(FormatList, Golden) {
  // clang-format off
  EXPECT_EQ(format_list(fixture(), at_now()),
            "┌────┬────────┬───────────┬─────────┬─────────┬──────┬────────┬────┬─────────┬──────┬─────────┬────────┬──────────┐\n"
            "│ id │ name   │ namespace │ version │ mode    │ pid  │ uptime │ ↺  │ status  │ cpu  │ mem     │ user   │ watching │\n"
            "├────┼────────┼───────────┼─────────┼─────────┼──────┼────────┼────┼─────────┼──────┼─────────┼────────┼──────────┤\n"
            "│ 0  │ api    │ default   │ N/A     │ cluster │ 4101 │ 3h     │ 0  │ online  │ 1.5% │ 3.1mb   │ deploy │ disabled │\n"
            "│ 1  │ api    │ default   │ N/A     │ cluster │ 4102 │ 45s    │ 1  │ online  │ 0%   │ 120.4mb │ deploy │ disabled │\n"
            "│ 2  │ worker │ jobs      │ N/A     │ fork    │ 0    │ 0      │ 16 │ errored │ 0%   │ 0b      │ deploy │ enabled  │\n"
            "└────┴────────┴───────────┴─────────┴─────────┴──────┴────────┴────┴─────────┴──────┴─────────┴────────┴──────────┘\n");
  // clang-format on
}

TEST(FormatList, ColourOnlyWhenAsked) {
  const std::string plain = format_list(fixture(), at_now(false));
  const std::string coloured = format_list(fixture(), at_now(true));
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  // Colour changes nothing but the escapes: same text, same alignment.
  EXPECT_EQ(strip_csi(coloured), plain);
  for (const char* want :
       {"\x1b[1;36mid\x1b[0m", "\x1b[1;36mapi\x1b[0m", "\x1b[1;36m2\x1b[0m",
        "\x1b[1;32monline\x1b[0m", "\x1b[1;31merrored\x1b[0m", "\x1b[1;34mcluster\x1b[0m",
        "\x1b[1;32menabled\x1b[0m", "\x1b[90mdisabled\x1b[0m"}) {
    EXPECT_NE(coloured.find(want), std::string::npos) << want;
  }
}

TEST(FormatList, StatusColours) {
  json list = json::array();
  const char* statuses[] = {"stopped",         "stopping", "launching",
                            "waiting restart", "online",   "errored"};
  int id = 0;
  for (const char* status : statuses) {
    list.push_back(
        {{"name", "a"}, {"pm_id", id}, {"pm2_env", {{"status", status}, {"pm_id", id}}}});
    ++id;
  }
  const std::string out = format_list(list, at_now(true));
  EXPECT_NE(out.find("\x1b[90mstopped\x1b[0m"), std::string::npos);
  EXPECT_NE(out.find("\x1b[90mstopping\x1b[0m"), std::string::npos);
  EXPECT_NE(out.find("\x1b[1;33mlaunching\x1b[0m"), std::string::npos);
  EXPECT_NE(out.find("\x1b[1;33mwaiting restart\x1b[0m"), std::string::npos);
  EXPECT_NE(out.find("\x1b[1;32monline\x1b[0m"), std::string::npos);
  EXPECT_NE(out.find("\x1b[1;31merrored\x1b[0m"), std::string::npos);
  expect_aligned(out);
}

TEST(FormatList, EveryRowHasTheSameDisplayWidth) {
  json list = fixture();
  list[0]["pm2_env"]["name"] = "日本語-api";
  list[1]["pm2_env"]["name"] = "cafe\u0301";
  list[2]["pm2_env"]["name"] = "🚀 rocket";
  for (bool color : {false, true}) expect_aligned(format_list(list, at_now(color)));
}

TEST(FormatList, HostileNamesCannotDriveTheTerminal) {
  json list = fixture();
  list[0]["pm2_env"]["name"] = "evil\x1b[2J\x1b]0;title\x07\nname\xff";
  const std::string plain = format_list(list, at_now(false));
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_EQ(plain.find('\x07'), std::string::npos);
  EXPECT_NE(plain.find("evil?[2J?]0;title??name\uFFFD"), std::string::npos);
  expect_aligned(plain);
  expect_aligned(format_list(list, at_now(true)));
}

TEST(FormatList, EmptyListSaysHowToStart) {
  // clang-format off
  const std::string want =
      "┌────┬──────┬───────────┬─────────┬──────┬─────┬────────┬───┬────────┬─────┬─────┬──────┬──────────┐\n"
      "│ id │ name │ namespace │ version │ mode │ pid │ uptime │ ↺ │ status │ cpu │ mem │ user │ watching │\n"
      "└────┴──────┴───────────┴─────────┴──────┴─────┴────────┴───┴────────┴─────┴─────┴──────┴──────────┘\n"
      "no app running — start one with `herd start <script|cmd|ecosystem>`\n";
  // clang-format on
  EXPECT_EQ(format_list(json::array(), {}), want);
  // Anything but an array is an empty list, not an exception.
  EXPECT_EQ(format_list(json(), {}), want);
  EXPECT_EQ(format_list(json::object(), {}), want);
  EXPECT_EQ(format_list(json::array({1, "x", nullptr}), {}), want);
}

TEST(FormatList, CondensesOnANarrowTerminal) {
  FormatOptions o = at_now();
  o.width = 80;
  // clang-format off
  EXPECT_EQ(format_list(fixture(), o),
            "┌────┬────────┬─────────┬──────┬────────┬────┬─────────┬──────┬─────────┐\n"
            "│ id │ name   │ mode    │ pid  │ uptime │ ↺  │ status  │ cpu  │ mem     │\n"
            "├────┼────────┼─────────┼──────┼────────┼────┼─────────┼──────┼─────────┤\n"
            "│ 0  │ api    │ cluster │ 4101 │ 3h     │ 0  │ online  │ 1.5% │ 3.1mb   │\n"
            "│ 1  │ api    │ cluster │ 4102 │ 45s    │ 1  │ online  │ 0%   │ 120.4mb │\n"
            "│ 2  │ worker │ fork    │ 0    │ 0      │ 16 │ errored │ 0%   │ 0b      │\n"
            "└────┴────────┴─────────┴──────┴────────┴────┴─────────┴──────┴─────────┘\n");
  // clang-format on
  o.width = 200;  // Wide enough: the full table.
  EXPECT_EQ(format_list(fixture(), o), format_list(fixture(), at_now()));
}

// The ids of the rows of a rendered `ls` table, top to bottom.
std::vector<std::string> ids_in(const std::string& table) {
  std::vector<std::string> ids;
  const auto lines = lines_of(table);
  for (std::size_t i = 3; i + 1 < lines.size(); ++i) {
    const std::string& l = lines[i];
    const std::size_t begin = l.find(' ') + 1;
    ids.push_back(l.substr(begin, l.find(' ', begin) - begin));
  }
  return ids;
}

TEST(FormatList, SortsLikePm2) {
  using Ids = std::vector<std::string>;
  FormatOptions o = at_now();
  EXPECT_EQ(ids_in(format_list(fixture(), o)), (Ids{"0", "1", "2"}));  // By name, then id.
  o.sort = "id:desc";
  EXPECT_EQ(ids_in(format_list(fixture(), o)), (Ids{"2", "1", "0"}));
  o.sort = "memory:desc";
  EXPECT_EQ(ids_in(format_list(fixture(), o)), (Ids{"1", "0", "2"}));
  o.sort = "namespace";
  EXPECT_EQ(ids_in(format_list(fixture(), o)), (Ids{"0", "1", "2"}));
  o.sort = "name:desc";
  EXPECT_EQ(ids_in(format_list(fixture(), o)), (Ids{"2", "0", "1"}));  // Ties stay by id.
  o.sort = "bogus:desc";  // Unknown: PM2's default, name ascending.
  EXPECT_EQ(ids_in(format_list(fixture(), o)), (Ids{"0", "1", "2"}));
}

TEST(FormatList, UptimeOnlyWhileOnline) {
  json list = fixture();
  list[2]["pm2_env"]["status"] = "stopped";
  list[2]["pm2_env"]["pm_uptime"] = kNow - 10'000;
  list[0]["pm2_env"]["pm_uptime"] = kNow + 5'000;  // Clock skew: never negative.
  const auto lines = lines_of(format_list(list, at_now()));
  EXPECT_NE(lines[3].find("│ 0s     │"), std::string::npos) << lines[3];
  EXPECT_NE(lines[5].find("│ 0      │"), std::string::npos) << lines[5];
}

TEST(FormatList, MalformedFieldsReadNotAvailable) {
  const json list = json::parse(R"([
    { "pm_id": 0, "name": "bare" },
    { "pm_id": 1, "name": 7, "pid": "x", "monit": "nope", "pm2_env": "broken" },
    { "pm2_env": { "pm_id": 2, "name": "odd", "status": 3, "restart_time": "many",
                   "pm_uptime": "soon", "exec_mode": null, "watch": ["src"] },
      "monit": { "cpu": "hot", "memory": -5 } }
  ])");
  std::string out;
  ASSERT_NO_THROW(out = format_list(list, at_now()));
  expect_aligned(out);
  // By name: "N/A" (the number 7) sorts before "bare" and "odd".
  EXPECT_TRUE(lines_of(out)[3].starts_with("│ 1  │ N/A  │ default")) << lines_of(out)[3];
  // clang-format off
  EXPECT_EQ(lines_of(out)[4],
            "│ 0  │ bare │ default   │ N/A     │ fork │ N/A │ 0      │ 0 │ N/A    │ N/A │ N/A │ N/A  │ disabled │");
  // clang-format on
  EXPECT_NE(lines_of(out)[5].find("│ enabled  │"), std::string::npos) << lines_of(out)[5];
}

// ---- describe ---------------------------------------------------------------------------

TEST(FormatDescribe, GoldenOnline) {
  EXPECT_EQ(format_describe(fixture()[0], at_now()),
            "Describing process with id 0 - name api\n"
            "┌───────────────────┬─────────────────────────────────────────┐\n"
            "│ status            │ online                                  │\n"
            "│ name              │ api                                     │\n"
            "│ namespace         │ default                                 │\n"
            "│ version           │ N/A                                     │\n"
            "│ restarts          │ 0                                       │\n"
            "│ uptime            │ 3h                                      │\n"
            "│ script path       │ /srv/api/server                         │\n"
            "│ script args       │ --port 0                                │\n"
            "│ error log path    │ /home/deploy/.herd/logs/api-error-0.log │\n"
            "│ out log path      │ /home/deploy/.herd/logs/api-out-0.log   │\n"
            "│ pid path          │ /home/deploy/.herd/pids/api-0.pid       │\n"
            "│ interpreter       │ none                                    │\n"
            "│ interpreter args  │ N/A                                     │\n"
            "│ script id         │ 0                                       │\n"
            "│ exec cwd          │ /srv/api                                │\n"
            "│ exec mode         │ cluster_mode                            │\n"
            "│ listen            │ 0.0.0.0:8080, [::]:8080                 │\n"
            "│ status text       │ serving 12 conns                        │\n"
            "│ node env          │ production                              │\n"
            "│ watch & reload    │ ✘                                       │\n"
            "│ unstable restarts │ 0                                       │\n"
            "│ exit code         │ N/A                                     │\n"
            "│ created at        │ 2026-11-28T04:15:00.000Z                │\n"
            "└───────────────────┴─────────────────────────────────────────┘\n"
            " Use `herd logs api [--lines 1000]` to display logs\n"
            " Use `herd env 0` to display environment variables\n");
}

TEST(FormatDescribe, GoldenErrored) {
  EXPECT_EQ(format_describe(fixture()[1], at_now()),
            "Describing process with id 2 - name worker\n"
            "┌───────────────────┬──────────────────────────┐\n"
            "│ status            │ errored                  │\n"
            "│ name              │ worker                   │\n"
            "│ namespace         │ jobs                     │\n"
            "│ version           │ N/A                      │\n"
            "│ restarts          │ 16                       │\n"
            "│ uptime            │ 0                        │\n"
            "│ script path       │ /srv/jobs/worker.py      │\n"
            "│ script args       │ --queue 'high priority'  │\n"
            "│ error log path    │ N/A                      │\n"
            "│ out log path      │ N/A                      │\n"
            "│ pid path          │ N/A                      │\n"
            "│ interpreter       │ python3                  │\n"
            "│ interpreter args  │ N/A                      │\n"
            "│ script id         │ 2                        │\n"
            "│ exec cwd          │ /srv/jobs                │\n"
            "│ exec mode         │ fork_mode                │\n"
            "│ listen            │ N/A                      │\n"
            "│ status text       │ N/A                      │\n"
            "│ node env          │ N/A                      │\n"
            "│ watch & reload    │ ✔                        │\n"
            "│ unstable restarts │ 16                       │\n"
            "│ exit code         │ 1                        │\n"
            "│ created at        │ 2026-11-28T03:53:20.000Z │\n"
            "└───────────────────┴──────────────────────────┘\n"
            " Use `herd logs worker [--lines 1000]` to display logs\n"
            " Use `herd env 2` to display environment variables\n");
}

TEST(FormatDescribe, ColourOnlyWhenAsked) {
  const std::string plain = format_describe(fixture()[0], at_now(false));
  const std::string coloured = format_describe(fixture()[0], at_now(true));
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_TRUE(coloured.starts_with("\x1b[1;7m Describing process with id 0 - name api \x1b[0m\n"));
  EXPECT_NE(coloured.find("│ \x1b[1;36mstatus\x1b[0m            │ \x1b[1;32monline\x1b[0m "),
            std::string::npos);
  // Below the title, colour changes nothing but the escapes.
  EXPECT_EQ(strip_csi(coloured.substr(coloured.find('\n'))), plain.substr(plain.find('\n')));
  expect_aligned(
      coloured.substr(coloured.find('\n') + 1, coloured.find("\x1b[3m") - coloured.find('\n') - 1));
}

TEST(FormatDescribe, Pm2OptionalRowsInPm2Places) {
  json instance = fixture()[0];
  instance["pm2_env"]["max_memory_restart"] = 209715200;
  instance["pm2_env"]["cron_restart"] = "0 3 * * *";
  instance["pm2_env"]["node_args"] = json::array({"--max-old-space-size=512"});
  const auto lines = lines_of(format_describe(instance, at_now()));
  EXPECT_EQ(lines[6], "│ restarts           │ 0                                       │");
  EXPECT_EQ(lines[7], "│ max memory restart │ 200.0mb                                 │");
  EXPECT_EQ(lines[8], "│ cron restart       │ 0 3 * * *                               │");
  EXPECT_EQ(lines[9], "│ uptime             │ 3h                                      │");
  EXPECT_EQ(lines[16], "│ interpreter args   │ --max-old-space-size=512                │");
}

TEST(FormatDescribe, NextCronRestartFollowsTheSchedule) {
  json instance = fixture()[0];
  instance["pm2_env"]["cron_restart"] = "0 3 * * *";
  instance["pm2_env"]["next_cron_restart"] = 1795921200000;
  const auto lines = lines_of(format_describe(instance, at_now()));
  EXPECT_EQ(lines[7], "│ cron restart      │ 0 3 * * *                               │");
  EXPECT_EQ(lines[8], "│ next cron restart │ 2026-11-29T03:00:00.000Z                │");
  // No next time (a schedule that does not fire again): no row.
  instance["pm2_env"]["next_cron_restart"] = nullptr;
  EXPECT_EQ(format_describe(instance, at_now()).find("next cron restart"), std::string::npos);
}

TEST(FormatDescribe, GarbageDoesNotThrow) {
  for (const json& j : {json(42), json::array(), json::object(), json{{"pm2_env", "x"}},
                        json{{"pm2_env", {{"env", 3}, {"listen", {1, nullptr}}}}}}) {
    std::string out;
    ASSERT_NO_THROW(out = format_describe(j, at_now())) << j.dump();
    EXPECT_TRUE(out.starts_with("Describing process with id N/A - name N/A\n")) << out;
  }
}

// ---- env --------------------------------------------------------------------------------

TEST(FormatEnv, SortedKeyValueLines) {
  EXPECT_EQ(format_env(fixture()[0]),
            "HERD_INSTANCE: 0\n"
            "NODE_ENV: production\n"
            "PORT: 8080\n");
  json instance = fixture()[0];
  instance["pm2_env"]["env"] = {{"b", 2}, {"A", "multi\nline"}, {"a", true}};
  EXPECT_EQ(format_env(instance), "A: multi?line\na: true\nb: 2\n");
  EXPECT_EQ(format_env(fixture()[1]), "");  // An empty env.
  EXPECT_EQ(format_env(fixture()[2]), "");  // No env at all.
  EXPECT_EQ(format_env(json("x")), "");
}

}  // namespace
}  // namespace herd::cli
