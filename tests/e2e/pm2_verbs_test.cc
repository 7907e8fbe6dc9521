// PM2's verbs beyond start/stop (issue 20): ps, ls -m, id, pid, cleardump, reloadLogs, logs
// --format and --highlight, ecosystem/init, dashboard, send/attach. Each test says what PM2
// 7.0.4 does (checked with pm2 7.0.4, its source in lib/ read for the details) and where herd
// differs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One line to stdout and one to stderr every 50 ms, forever.
constexpr const char* kTicker =
    "i=0\n"
    "while :; do echo \"tick-$i tick\"; echo \"oops-$i\" >&2; i=$((i+1)); sleep 0.05; done\n";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// pm2 7.0.4: `ps` is `list`; `-m`/`--mini-list` prints lib/API/UX/pm2-ls-minimal.js's blocks
// (the exact bytes are cli_format_test's FormatMiniList); `dashboard`/`dash` is herd's monit
// (MonitTest covers the screen; here only that the names are known).
TEST_F(HerdTest, PsIsLsAndMiniListIsPm2s) {
  ASSERT_EQ(herd({"start", write_script("app", kTicker)}).exit_code, 0);
  ASSERT_TRUE(wait_status("app", "online"));
  CommandResult ps = herd({"ps"});
  ASSERT_EQ(ps.exit_code, 0) << ps;
  EXPECT_THAT(ps.out, HasSubstr("│ app"));
  CommandResult mini = herd({"ls", "-m"});
  ASSERT_EQ(mini.exit_code, 0) << mini;
  EXPECT_THAT(mini.out, HasSubstr("+--- app\nnamespace : default\n")) << mini;
  EXPECT_THAT(mini.out, HasSubstr("\npm2 id : 0\nstatus : online\nmode : fork\n")) << mini;
  EXPECT_THAT(mini.out, Not(HasSubstr("│")));
  EXPECT_EQ(herd({"ps", "--mini-list"}).out.substr(0, 9), "+--- app\n");
  CommandResult dash = herd({"dash", "extra"});
  EXPECT_EQ(dash.exit_code, 1);
  EXPECT_THAT(dash.err, HasSubstr("monit takes no arguments")) << dash;
}

// pm2 7.0.4: `id <name>` prints util.inspect of the ids ("[ 0, 1 ]"), `pid [name]` the pids one
// a line (0 for a stopped instance; every app's without a name). For an unknown name PM2 prints
// "[]" / an empty line and exits 0; herd exits 1 and says so, as for every unknown target.
TEST_F(HerdTest, IdAndPidPrintPm2sShapes) {
  ASSERT_EQ(herd({"start", write_script("a", kTicker), "-i", "2", "-x"}).exit_code, 0);
  ASSERT_EQ(herd({"start", write_script("b", kTicker)}).exit_code, 0);
  ASSERT_TRUE(wait_status("a", "online", 2));
  ASSERT_EQ(herd({"stop", "b"}).exit_code, 0);
  CommandResult id = herd({"id", "a"});
  ASSERT_EQ(id.exit_code, 0) << id;
  EXPECT_EQ(id.out, "[ 0, 1 ]\n");
  EXPECT_EQ(herd({"id", "b"}).out, "[ 2 ]\n");
  Json list = jlist();
  auto a = instances(list, "a");
  ASSERT_EQ(a.size(), 2u);
  std::string a_pids =
      std::to_string(a[0]["pid"].get<int>()) + "\n" + std::to_string(a[1]["pid"].get<int>()) + "\n";
  EXPECT_EQ(herd({"pid", "a"}).out, a_pids);
  EXPECT_EQ(herd({"pid", "b"}).out, "0\n");
  CommandResult all = herd({"pid"});
  ASSERT_EQ(all.exit_code, 0) << all;
  EXPECT_EQ(lines_of(all.out).size(), 3u) << all;
  for (const char* verb : {"id", "pid"}) {
    CommandResult r = herd({verb, "nope"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("no app named 'nope'")) << r;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(herd({"id"}).exit_code, 1);
}

// pm2 7.0.4: cleardump writes an empty list over the dump and says "Successfully created
// <path>". herd writes its empty dump the way save does (the list it replaces goes to .bak);
// resurrect then starts nothing (herd exits 1 with "lists no app", PM2 exits 0).
TEST_F(HerdTest, CleardumpEmptiesTheDumpAndResurrectStartsNothing) {
  ASSERT_EQ(herd({"start", write_script("app", kTicker)}).exit_code, 0);
  ASSERT_EQ(herd({"save"}).exit_code, 0);
  CommandResult r = herd({"cleardump"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr(path("dump.json")));
  Json dump = Json::parse(read_file(path("dump.json")));
  EXPECT_EQ(dump["apps"], Json::array());
  EXPECT_THAT(read_file(path("dump.json.bak")), HasSubstr("\"app\""));
  ASSERT_EQ(herd({"delete", "all"}).exit_code, 0);
  r = herd({"resurrect"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("lists no app")) << r;
  EXPECT_EQ(jlist(), Json::array());
  EXPECT_EQ(herd({"cleardump", "x"}).exit_code, 1);
}

// pm2 7.0.4: reloadLogs reopens every app's log files (for logrotate's rename-then-signal
// rotation), printing "Reloading all logs..." and "All logs reloaded". herd also reopens
// herd.log.
TEST_F(HerdTest, ReloadLogsReopensRenamedLogFiles) {
  ASSERT_EQ(herd({"start", write_script("app", kTicker)}).exit_code, 0);
  Json p = instance(jlist(), "app");
  std::string out = p["pm2_env"]["pm_out_log_path"], err = p["pm2_env"]["pm_err_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "tick-1 "); }));
  ASSERT_TRUE(wait_for([&] { return contains(read_file(err), "oops-1\n"); }));
  for (const std::string& f : {out, err, path("herd.log")}) {
    ASSERT_EQ(::rename(f.c_str(), (f + ".1").c_str()), 0) << f;
  }
  CommandResult r = herd({"reloadLogs"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("reopened 2 log file(s) and herd.log")) << r;
  // The next lines land in new files of the original names; the renamed ones stop growing.
  EXPECT_TRUE(wait_for([&] { return contains(read_file(out), "tick-"); })) << out;
  EXPECT_TRUE(wait_for([&] { return contains(read_file(err), "oops-"); })) << err;
  EXPECT_TRUE(wait_for([&] { return contains(read_file(path("herd.log")), "reloadLogs"); }));
  long renamed = file_size(out + ".1");
  ASSERT_TRUE(wait_for([&] { return lines_of(read_file(out)).size() >= 3; }));
  EXPECT_EQ(file_size(out + ".1"), renamed);
  EXPECT_EQ(herd({"reloadLogs", "app"}).exit_code, 1);
}

// pm2 7.0.4 (lib/API/Log.js, formatStream): --format streams, without the last lines first,
// "timestamp=<YYYY-MM-DD-HH:mm:ssZZ> app=<name> id=<id> type=out|error message=<line>".
// --highlight WORD wraps the word's first occurrence in chalk's bgBlackBright, which chalk
// (and herd) leaves out when stdout is not a terminal: here, no escape at all.
TEST_F(HerdTest, LogsFormatAndHighlight) {
  ASSERT_EQ(herd({"start", write_script("app", kTicker)}).exit_code, 0);
  auto logs = herd_background({"logs", "app", "--format", "--highlight", "tick"});
  static const std::regex kErr(R"((^|\n)timestamp=\d{4}-\d{2}-\d{2}-\d{2}:\d{2}:\d{2}[+-]\d{4} )"
                               R"(app=app id=0 type=error message=oops-\d+\n)");
  static const std::regex kOut(R"((^|\n)timestamp=\d{4}-\d{2}-\d{2}-\d{2}:\d{2}:\d{2}[+-]\d{4} )"
                               R"(app=app id=0 type=out message=tick-\d+ tick\n)");
  ASSERT_TRUE(logs->wait_output(
      [](const std::string& s) { return std::regex_search(s, kErr) && std::regex_search(s, kOut); },
      kWaitTimeout))
      << logs->result();
  std::string text = logs->result().out;
  logs.reset();
  EXPECT_THAT(text, Not(HasSubstr("last 15 lines")));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  CommandResult tail = herd({"logs", "app", "--format", "--nostream", "--lines", "1"});
  EXPECT_THAT(tail.out, HasSubstr("last 1 lines")) << tail;
}

// pm2 7.0.4: `ecosystem` (alias `init`) writes lib/templates/ecosystem.tpl as
// ecosystem.config.js in the current folder, `ecosystem simple` ecosystem-simple.tpl, and says
// "File <path> generated". PM2 overwrites a file already there; herd refuses (exit 1).
TEST_F(HerdTest, EcosystemWritesPm2sSampleAndKeepsAnExistingFile) {
  ASSERT_EQ(::mkdir(path("proj").c_str(), 0755), 0);
  InDir in(path("proj"));
  std::string file = path("proj/ecosystem.config.js");
  CommandResult r = herd({"init", "simple"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "File " + file + " generated\n");
  EXPECT_EQ(read_file(file),
            "module.exports = {\n  apps : [{\n    name   : \"app1\",\n    script : \"./app.js\"\n"
            "  }]\n}\n");
  r = herd({"ecosystem"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("already exists")) << r;
  ASSERT_EQ(::unlink(file.c_str()), 0);
  ASSERT_EQ(herd({"ecosystem"}).exit_code, 0);
  EXPECT_THAT(read_file(file), HasSubstr("watch: ['./service-worker']"));
  EXPECT_THAT(read_file(file), HasSubstr("'post-deploy' : 'npm install && pm2 reload"));
  EXPECT_EQ(herd({"ecosystem", "fancy"}).exit_code, 1);
}

// pm2 7.0.4 gives fork-mode apps a stdin pipe (God/ForkMode.js: stdio ['pipe', ...]) that
// `send` and `attach` write to. herd gives apps /dev/null: the verbs say why and exit 1.
TEST_F(HerdTest, SendAndAttachSayWhyTheyAreNotThere) {
  for (const char* verb : {"send", "attach"}) {
    CommandResult r = herd({verb, "0", "hello"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("/dev/null as stdin")) << r;
  }
}

// pm2 7.0.4 prints its bare version for -v and --version; herd prints "herd <version>" for -v,
// --version and version, and none of them starts a daemon.
TEST_F(HerdTest, VersionFlagsPrintTheVersionWithoutADaemon) {
  for (const char* flag : {"-v", "--version", "version"}) {
    CommandResult r = herd({flag});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, ::testing::MatchesRegex("herd [0-9]+\\.[0-9]+\\.[0-9]+\n")) << flag;
  }
  EXPECT_FALSE(file_exists(path("herd.sock")));
  EXPECT_FALSE(file_exists(path("herd.pid")));
}

}  // namespace
}  // namespace herd::e2e
