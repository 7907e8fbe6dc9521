// jlist's "rows" (docs/control-protocol.md), what `herd ls` asks for: each process with only the
// members the table renders and sorts by. The table made from the rows must be the table made
// from the full list, byte for byte, for every sort and on a narrow terminal, over apps that use
// every column and every status mark (namespace, watch, cluster mode, stopped, errored, a
// failing health check). A member `ls` reads that the rows lack makes these tables differ.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli/render/format.h"
#include "e2e/fake_daemon.h"
#include "e2e/herd_fixture.h"
#include "e2e/raw_control.h"
#include "herd/base/fd.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

class LsRowsTest : public HerdTest {
 protected:
  // jlist's result with the request's extra fields, and the reply's size in bytes.
  Json list(const std::string& fields, std::size_t* bytes = nullptr) {
    std::string reply =
        raw_request(path("herd.sock"), R"({"id":1,"verb":"jlist")" + fields + "}", 20s);
    if (bytes != nullptr) *bytes = reply.size();
    Json j = Json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.value("ok", false)) {
      ADD_FAILURE() << "jlist" << fields << ": " << reply.substr(0, 500);
      return Json::array();
    }
    return j["result"];
  }
};

TEST_F(LsRowsTest, RowsRenderTheTableTheFullListDoes) {
  ASSERT_EQ(::mkdir(path("watched").c_str(), 0755), 0);
  std::string crasher = write_script("crasher", "exit 1\n");
  Json apps = Json::array({
      {{"name", "team-app"},
       {"script", "/bin/sleep"},
       {"args", "3600"},
       {"namespace", "team"},
       {"exec_mode", "fork"},
       {"watch", Json::array({path("watched")})},
       {"instances", 2}},
      {{"name", "clustered"},
       {"script", "/bin/sleep"},
       {"args", "3600"},
       {"exec_mode", "cluster"},
       {"inject", false},
       {"instances", 2}},
      {{"name", "failing-check"},
       {"script", "/bin/sleep"},
       {"args", "3600"},
       // Readiness only: it comes online, then stays online but unhealthy once `broken` exists.
       {"health_check",
        {{"exec", "test ! -e " + path("broken")},
         {"interval", "300ms"},
         {"failures", 1},
         {"liveness", false}}}},
      {{"name", "crash"}, {"script", crasher}, {"max_restarts", 1}},
      {{"name", "to-stop"}, {"script", "/bin/sleep"}, {"args", "3600"}},
  });
  write_file(path("eco.json"), Json{{"apps", apps}}.dump());
  CommandResult r = herd({"start", path("eco.json")}, {}, 60s);
  ASSERT_FALSE(r.timed_out) << r;
  ASSERT_EQ(herd({"stop", "to-stop"}).exit_code, 0);
  ASSERT_TRUE(wait_status("failing-check", "online"));
  write_file(path("broken"), "");
  Json full;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        int online = 0, errored = 0, stopped = 0, unhealthy = 0;
        for (const Json& p : l) {
          const Json& env = p["pm2_env"];
          std::string status = env.value("status", "");
          online += status == "online";
          errored += status == "errored";
          stopped += status == "stopped";
          unhealthy += env.contains("health") && env["health"].value("status", "") == "unhealthy";
        }
        return online == 5 && errored == 1 && stopped == 1 && unhealthy == 1;
      },
      20s, &full))
      << full.dump(1);

  // The sampler may change a memory figure between two lists: a few tries, then the difference.
  const std::vector<std::string> sorts = {
      "name",   "name:desc", "id",     "id:desc", "namespace",   "pid",          "pid:desc",
      "memory", "cpu",       "uptime", "status",  "status:desc", "unknown-field"};
  for (int width : {0, 60}) {
    for (const std::string& sort : sorts) {
      SCOPED_TRACE("sort " + sort + ", width " + std::to_string(width));
      cli::FormatOptions o;
      o.color = true;
      o.now_ms = 1'900'000'000'000;
      o.width = width;
      o.sort = sort;
      std::string from_rows, from_full;
      for (int attempt = 0; attempt < 5; ++attempt) {
        from_rows = cli::format_list(list(R"(,"rows":true)"), o);
        from_full = cli::format_list(list(""), o);
        if (from_rows == from_full) break;
      }
      EXPECT_EQ(from_rows, from_full);
    }
  }
  // What the table shows is there: the marks, the statuses, the namespace, watching.
  cli::FormatOptions o;
  o.now_ms = 1'900'000'000'000;
  std::string table = cli::format_list(list(R"(,"rows":true)"), o);
  for (const char* shown :
       {"online (unhealthy)", "errored", "stopped", "team", "enabled", "cluster", "fork"}) {
    EXPECT_THAT(table, HasSubstr(shown)) << table;
  }

  // A tenth of the bytes or less: the environment and the settings stay home.
  std::size_t rows_bytes = 0, full_bytes = 0;
  list(R"(,"rows":true)", &rows_bytes);
  list("", &full_bytes);
  EXPECT_LT(rows_bytes * 5, full_bytes) << rows_bytes << " bytes of rows, " << full_bytes;

  // `herd ls` itself prints the table of the rows (no colour: not a terminal).
  r = herd({"ls", "--sort", "namespace"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("online (unhealthy)")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("team")) << r.out;
}

TEST_F(LsRowsTest, RowsTakeABoolean) {
  ASSERT_EQ(herd({"ping"}).exit_code, 0);
  std::string reply =
      raw_request(path("herd.sock"), R"({"id":2,"verb":"jlist","rows":"yes"})", 20s);
  EXPECT_THAT(reply, HasSubstr("E_BAD_REQUEST")) << reply;
  EXPECT_THAT(reply, HasSubstr("rows")) << reply;
  EXPECT_EQ(herd({"ping"}).exit_code, 0) << "the daemon is still up";
}

// A daemon older than "rows" (the binary replaced, `herd update` not run yet) answers the field
// with E_BAD_REQUEST: `herd ls` asks again for the brief list and prints the same table from it.
// The older daemon is played by this test on the home's socket, with a real daemon's brief list.
TEST_F(LsRowsTest, AnOlderDaemonThatRefusesRowsIsAskedForTheBriefList) {
  std::string app = write_script("sleeper", "exec sleep 3600\n");
  ASSERT_EQ(herd({"start", app, "--name", "older-daemons-app"}).exit_code, 0);
  ASSERT_TRUE(wait_status("older-daemons-app", "online"));
  Json brief = list(R"(,"brief":true)");
  ASSERT_EQ(brief.size(), 1u);
  ASSERT_EQ(herd({"kill"}).exit_code, 0);
  ASSERT_TRUE(wait_for([&] { return herd_servers_of_home(home_).empty(); }));

  CommandResult r;
  std::vector<Json> asked;
  {
    FakeDaemon older(path("herd.sock"), [&](const Json& req) -> std::optional<Json> {
      if (req.contains("rows")) {
        return Json{
            {"ok", false},
            {"error",
             {{"code", "E_BAD_REQUEST"}, {"message", "unknown field \"rows\" for verb 'jlist'"}}}};
      }
      return Json{{"ok", true}, {"result", brief}};
    });
    ASSERT_TRUE(older.listening()) << std::strerror(errno);
    r = herd({"ls"});
    asked = older.requests();
  }
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("older-daemons-app")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("online")) << r.out;
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0].value("rows", false), true) << asked[0].dump();
  EXPECT_EQ(asked[1].value("brief", false), true) << asked[1].dump();
  EXPECT_FALSE(asked[1].contains("rows")) << asked[1].dump();
}

}  // namespace
}  // namespace herd::e2e
