// Supervisor on its own, where the daemon's end-to-end tests cannot look.
#include "daemon/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>

#include "herd/loop/event_loop.h"
#include "support/temp_dir.h"

namespace herd::manager {
namespace {

using herd::test::TempDir;

// Found by fuzz/control_fuzz.cc: a Supervisor destroyed with an instance still running (a daemon
// that goes away without stopping, as a failed takeover does) ran ~Instance, which kills the
// process group and forgets its pid, after the pid map had been destroyed (members go in reverse
// order, and the map comes after the apps): a heap-use-after-free under ASan.
TEST(SupervisorTest, DestroyedWithAnAppRunningKillsItCleanly) {
  TempDir dir("supervisor");
  Home home{dir.file("home")};
  ASSERT_TRUE(home.prepare());
  pid_t pid = 0;
  // With cgroups, ~Supervisor also reaps what it killed (a zombie holds a v1 group it must
  // remove); this test reaps the killed app itself, so it runs without them.
  ::setenv("HERD_CGROUPS", "off", 1);
  {
    EventLoop loop;
    Supervisor sup(loop, home);
    ASSERT_TRUE(sup.init());
    ::unsetenv("HERD_CGROUPS");
    AppSpec spec;
    spec.name = "sleeper";
    spec.script = "/bin/sleep";
    spec.args = {"1000"};
    spec.autorestart = false;
    spec.min_uptime_ms = 0;
    bool done = false;
    sup.start(spec, [&](VerbResult r) {
      ASSERT_TRUE(r) << r.error().message;
      ASSERT_EQ(r->size(), 1u);
      pid = (*r)[0].value("pid", 0);
      done = true;
    });
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done && std::chrono::steady_clock::now() < give_up) loop.run(RunMode::kNoWait);
    ASSERT_TRUE(done);
    ASSERT_GT(pid, 0);
  }
  // The app was this process's child, killed with its group by ~Instance.
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// jlist's text (Supervisor::jlist_text, what the jlist verb sends) is the tree jlist() builds,
// dumped, byte for byte: for apps in many states (online, stopped, with a health check, a cron
// restart, an environment of quotes, newlines and invalid UTF-8, PM2's interpreter_args), in
// both the full and the brief listing.
TEST(SupervisorTest, JlistTextIsTheTreeDumpedByteForByte) {
  TempDir dir("supervisor");
  Home home{dir.file("home")};
  ASSERT_TRUE(home.prepare());
  ::setenv("HERD_CGROUPS", "off", 1);
  EventLoop loop;
  Supervisor sup(loop, home);
  ASSERT_TRUE(sup.init());
  ::unsetenv("HERD_CGROUPS");
  auto run_until = [&](const bool& done) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done && std::chrono::steady_clock::now() < give_up) loop.run(RunMode::kNoWait);
    return done;
  };
  auto start = [&](AppSpec spec) {
    bool done = false;
    sup.start(std::move(spec), [&](VerbResult r) {
      EXPECT_TRUE(r) << r.error().message;
      done = true;
    });
    ASSERT_TRUE(run_until(done));
  };
  AppSpec plain;
  plain.name = "plain";
  plain.script = "/bin/sleep";
  plain.args = {"1000"};
  plain.instances = "2";
  plain.env = {{"QUOTED", "say \"hi\"\nand\tgo"}, {"BAD", "\xff\xfe"}, {"UTF8", "caf\xc3\xa9"}};
  start(plain);
  AppSpec checked = plain;
  checked.name = "checked \"app\"";
  checked.instances = "1";
  checked.health_check.kind = HealthCheck::Kind::kExec;
  checked.health_check.command = "/bin/true";
  checked.cron_restart = "0 3 * * *";
  checked.interpreter = "none";
  checked.interpreter_args = {"--x"};
  checked.namespace_ = "";
  start(checked);
  AppSpec stopped = plain;
  stopped.name = "stopped";
  stopped.instances = "1";
  start(stopped);
  bool done = false;
  sup.stop({"stopped"}, [&](VerbResult r) {
    EXPECT_TRUE(r) << r.error().message;
    done = true;
  });
  ASSERT_TRUE(run_until(done));
  for (auto detail : {Instance::Detail::kFull, Instance::Detail::kBrief}) {
    std::string tree =
        sup.jlist(detail).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EXPECT_EQ(sup.jlist_text(detail), tree);
    EXPECT_NE(tree.find("\"stopped\""), std::string::npos);
  }
  // Sizes the listing reserves from the last one change nothing.
  EXPECT_EQ(sup.jlist_text(Instance::Detail::kFull),
            sup.jlist(Instance::Detail::kFull)
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace
}  // namespace herd::manager
