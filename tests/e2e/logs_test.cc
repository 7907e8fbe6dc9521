// Logs: an app's stdout and stderr in its files, --time stamps, size rotation, `logs --lines`,
// `flush`, and `logs` streaming new lines live.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/fake_daemon.h"
#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The files in `dir` whose names start with `prefix`.
std::vector<std::string> files_starting_with(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0) out.push_back(dir + "/" + name);
  }
  ::closedir(d);
  return out;
}

TEST_F(HerdTest, OutputGoesToTheLogFilesWithTimestampsOnRequest) {
  CommandResult r = herd({"start",
                          write_script("talker",
                                       "echo out-1\n"
                                       "echo err-1 >&2\n"
                                       "echo out-2\n"
                                       "exec sleep 1000\n"),
                          "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", write_script("stamped", "echo stamped-line\nexec sleep 1000\n"), "--time",
            "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;

  Json list = jlist();
  std::string out = instance(list, "talker")["pm2_env"]["pm_out_log_path"];
  std::string err = instance(list, "talker")["pm2_env"]["pm_err_log_path"];
  EXPECT_TRUE(wait_for([&] { return read_file(out) == "out-1\nout-2\n"; })) << read_file(out);
  EXPECT_TRUE(wait_for([&] { return read_file(err) == "err-1\n"; })) << read_file(err);

  // --time: an ISO-8601 timestamp before each line.
  std::string stamped = instance(list, "stamped")["pm2_env"]["pm_out_log_path"];
  EXPECT_TRUE(wait_for([&] { return contains(read_file(stamped), "stamped-line\n"); }));
  std::string line = read_file(stamped);
  line = line.substr(0, line.find('\n'));
  static const std::regex kStamped(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?:? stamped-line$)");
  EXPECT_TRUE(std::regex_match(line, kStamped)) << "'" << line << "'";
  // Without --time, lines are as the app wrote them (checked above: "out-1\n...").
}

TEST_F(HerdTest, LogsRotateBySizeShowTheLastLinesAndFlush) {
  write_script(
      "flood",
      "pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
      "i=0\n"
      "while [ $i -lt 1000 ]; do printf 'line-%04d %s\\n' $i \"$pad\"; i=$((i+1)); done\n"
      "exec sleep 1000\n");
  write_file(path("ecosystem.json"),
             R"({"apps": [{"name": "flood", "script": "flood", "min_uptime": 100,
                          "log_max_size": 4096, "log_max_files": 3}]})");
  CommandResult r = herd({"start", path("ecosystem.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string out = path("logs/flood-out.log");
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "line-0999 "); }))
      << "the last line never reached " << out;

  // About 100 KB went through a 3 x 4 KiB budget.
  auto files = files_starting_with(path("logs"), "flood-out.log");
  EXPECT_LE(files.size(), 3u);
  EXPECT_GE(files.size(), 2u) << "no rotation happened";
  for (const auto& f : files) {
    EXPECT_LE(file_size(f), 4096) << f;
    std::string text = read_file(f);
    EXPECT_TRUE(!text.empty() && text.back() == '\n') << f << " does not end at a line end";
  }

  r = herd({"logs", "flood", "--nostream", "--lines", "5"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (int i = 995; i <= 999; ++i) {
    EXPECT_THAT(r.out, HasSubstr("line-0" + std::to_string(i))) << r;
  }
  EXPECT_THAT(r.out, Not(HasSubstr("line-0994")));

  r = herd({"flush"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(file_size(out), 0);
  EXPECT_EQ(file_size(path("logs/flood-error.log")), 0);
  EXPECT_EQ(files_starting_with(path("logs"), "flood-out.log").size(), 1u)
      << "flush leaves rotated files behind";
  r = herd({"logs", "flood", "--nostream", "--lines", "5"});
  EXPECT_THAT(r.out, Not(HasSubstr("line-")));
}

TEST_F(HerdTest, LogsStreamsNewLinesLive) {
  CommandResult r = herd({"start", test_binary(), "-n", "printer", "--min-uptime", "100"},
                         {{kRoleVar, "marker_printer"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string out = path("logs/printer-out.log");
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "printer started"); }));

  auto logs = herd_background({"logs", "printer", "--raw"});
  // First the last lines of the files...
  ASSERT_TRUE(logs->wait_output([](const std::string& s) { return contains(s, "printer started"); },
                                kWaitTimeout))
      << logs->result();
  // ...then, live, what the app prints from now on: every marker is printed after the tail was
  // read, so one can only arrive through the stream. The subscription follows the tail at once
  // but asynchronously, so ask for markers until one arrives.
  bool streamed = false;
  auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
  while (!streamed && std::chrono::steady_clock::now() < deadline) {
    r = herd({"signal", "SIGUSR1", "printer"});
    ASSERT_EQ(r.exit_code, 0) << r;
    streamed =
        logs->wait_output([](const std::string& s) { return contains(s, "marker-"); }, 500ms);
  }
  EXPECT_TRUE(streamed) << logs->result();
  EXPECT_TRUE(logs->running()) << "logs stopped streaming " << logs->result();

  // Ctrl-C ends the client; the daemon carries on without it.
  logs->signal(SIGINT);
  EXPECT_TRUE(logs->wait_exit(kWaitTimeout));
  EXPECT_THAT(logs->result().err, Not(HasSubstr("Sanitizer")));
  r = herd({"signal", "SIGUSR1", "printer"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(instance(jlist(), "printer")["pm2_env"]["status"], "online");
}

// `herd logs` follows until the daemon stops (`herd kill`), and exits 0 then, also when the
// daemon stopped between the tails and its answer to the follow request: it hangs up, or answers
// that it is shutting down. A daemon that does so at the request for the tails is an error.
TEST_F(HerdTest, LogsEndsWithoutErrorWhenTheDaemonStopsAtTheFollow) {
  for (const char* verb : {"logs", "describe"}) {
    for (bool hang_up : {true, false}) {
      SCOPED_TRACE(std::string(verb) + (hang_up ? ": hangs up" : ": shutting down"));
      CommandResult r;
      {
        FakeDaemon stopping(path("herd.sock"), [&](const Json& req) -> std::optional<Json> {
          if (req.value("verb", "") != verb) return Json{{"ok", true}, {"result", Json::array()}};
          if (hang_up) return std::nullopt;
          return Json{
              {"ok", false},
              {"error", {{"code", "E_QUITTING"}, {"message", "the daemon is shutting down"}}}};
        });
        ASSERT_TRUE(stopping.listening()) << std::strerror(errno);
        r = herd({"logs"});
      }
      if (std::string(verb) == "logs") {
        EXPECT_EQ(r.exit_code, 0) << r;
        EXPECT_EQ(r.err, "") << r;
      } else {
        EXPECT_EQ(r.exit_code, 1) << r;
        EXPECT_THAT(r.err, HasSubstr(hang_up ? "the daemon closed the connection"
                                             : "the daemon is shutting down"))
            << r;
      }
    }
  }
}

}  // namespace
}  // namespace herd::e2e
