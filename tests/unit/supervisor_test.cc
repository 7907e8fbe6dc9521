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

}  // namespace
}  // namespace herd::manager
