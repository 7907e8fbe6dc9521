// `herd runtime`: the daemon in the foreground of one process, for a container's PID 1 (and a
// systemd Type=notify unit). Its apps' output on its stdout, `herd ls` against it from another
// process, SIGTERM as a graceful stop of every app and exit 0, a second SIGTERM as "now", the
// exit when no app is left with the app's own exit code, READY=1 to its NOTIFY_SOCKET, fail-fast
// on bad input, and, as PID 1 of a real PID namespace, orphans reaped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

class RuntimeTest : public HerdTest {
 protected:
  // `herd runtime <args>` in the background, its output captured.
  std::unique_ptr<Process> runtime(const std::vector<std::string>& args, const EnvVars& env = {}) {
    return herd_runtime(args, env);
  }

  // Waits until the runtime `p` printed `text` on stdout.
  static bool wait_out(Process& p, const std::string& text) {
    return p.wait_output([&](const std::string& out) { return contains(out, text); }, kWaitTimeout);
  }
};

TEST_F(RuntimeTest, AppOutputOnStdoutLsWorksAndSigtermStopsEverythingWithExitZero) {
  std::string app = write_script("talker",
                                 "echo \"hello from $HERD_INSTANCE\"\necho oops >&2\n"
                                 "exec sleep 1000\n");
  auto p = runtime({app, "-i", "2", "-x", "--name", "talk"});
  ASSERT_TRUE(wait_out(*p, "0|talk | hello from 0")) << p->out() << p->err();
  ASSERT_TRUE(wait_out(*p, "1|talk | hello from 1")) << p->out() << p->err();
  ASSERT_TRUE(p->pump_until([&] { return contains(p->err(), "1|talk | oops"); }, kWaitTimeout))
      << p->err();
  // No log files: the output is the process's own.
  EXPECT_FALSE(file_exists(path("logs/talk-out-0.log")));

  // The control socket serves as a daemon's does.
  ASSERT_TRUE(wait_status("talk", "online", 2));
  CommandResult ls = herd({"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls;
  EXPECT_THAT(ls.out, HasSubstr("talk"));
  std::vector<ProcId> apps;
  for (const Json& i : instances(jlist(), "talk")) {
    auto id = proc_id(i["pid"].get<int>());
    ASSERT_TRUE(id);
    apps.push_back(*id);
  }
  ASSERT_EQ(apps.size(), 2u);
  ASSERT_EQ(daemon_pid(), p->pid()) << "the runtime is the daemon: no fork";

  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout)) << p->err();
  EXPECT_EQ(p->code(), 0) << p->err();
  for (const ProcId& a : apps) EXPECT_TRUE(reaped(a)) << a.pid;
  EXPECT_THAT(p->err(), HasSubstr("stopping every app"));
}

TEST_F(RuntimeTest, JsonLinesCarryTimeAppIdStreamAndMessage) {
  std::string app = write_script("json",
                                 "echo 'out \"quoted\"'\necho err-line >&2\n"
                                 "exec sleep 1000\n");
  auto p = runtime({"--json", app, "--name", "js"});
  ASSERT_TRUE(wait_out(*p, "err-line")) << p->out() << p->err();
  std::istringstream lines(p->out());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    Json j = Json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    EXPECT_EQ(j.value("app", ""), "js");
    EXPECT_EQ(j.value("id", -1), 0);
    EXPECT_THAT(j.value("time", ""), ::testing::MatchesRegex("20..-..-..T..:..:..\\....Z"));
    std::string stream = j.value("stream", "");
    if (stream == "stdout") {
      EXPECT_EQ(j.value("message", ""), "out \"quoted\"");
    } else {
      EXPECT_EQ(stream, "stderr");
      EXPECT_EQ(j.value("message", ""), "err-line");
    }
    ++parsed;
  }
  EXPECT_EQ(parsed, 2) << p->out();
  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout));
  EXPECT_EQ(p->code(), 0);
}

TEST_F(RuntimeTest, ExitsWithTheAppsCodeOnceNoAppIsLeft) {
  std::string app = write_script("job", "echo working\nexit 7\n");
  auto p = runtime({app, "--no-autorestart"});
  ASSERT_TRUE(p->wait_exit(kWaitTimeout)) << p->out() << p->err();
  EXPECT_EQ(p->code(), 7) << p->err();
  EXPECT_THAT(p->out(), HasSubstr("0|job | working"));
  EXPECT_THAT(p->err(), HasSubstr("no app is online any more"));

  // --no-auto-exit keeps it up with nothing running, until told to stop.
  auto q = runtime({"--no-auto-exit", app, "--no-autorestart"});
  ASSERT_TRUE(
      q->wait_output([](const std::string& o) { return contains(o, "working"); }, kWaitTimeout));
  ASSERT_TRUE(wait_status("job", "stopped"));
  EXPECT_FALSE(q->wait_exit(500ms)) << "exited although --no-auto-exit";
  ASSERT_EQ(herd({"kill"}).exit_code, 0);
  ASSERT_TRUE(q->wait_exit(kWaitTimeout));
  EXPECT_EQ(q->code(), 0);
}

TEST_F(RuntimeTest, SecondSigtermStopsNow) {
  // An app that ignores its stop signal, with a long kill_timeout: the first SIGTERM waits for
  // it, the second ends it at once.
  std::string app =
      write_script("stubborn", "trap '' INT TERM\necho up\nwhile :; do sleep 1; done\n");
  auto p = runtime({app, "--kill-timeout", "60000"});
  ASSERT_TRUE(wait_out(*p, "0|stubborn | up")) << p->err();
  ASSERT_TRUE(wait_status("stubborn", "online"));
  auto app_pid = proc_id(instance(jlist(), "stubborn")["pid"].get<int>());
  ASSERT_TRUE(app_pid);
  p->signal(SIGTERM);
  // (The daemon answers no command while it shuts down: its log says where it is.)
  ASSERT_TRUE(
      p->pump_until([&] { return contains(p->err(), "stopping every app"); }, kWaitTimeout));
  EXPECT_FALSE(p->wait_exit(300ms)) << "did not wait for the app's kill_timeout";
  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout)) << p->err();
  EXPECT_EQ(p->code(), 128 + SIGTERM);
  EXPECT_THAT(p->err(), HasSubstr("killing every app now"));
  EXPECT_TRUE(wait_for([&] { return dead(*app_pid); }));
}

TEST_F(RuntimeTest, SaysReadyToItsNotifySocketOnceEveryAppIsOnline) {
  std::string sock = path("outer-notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  std::string app = write_script("svc", "exec sleep 1000\n");
  auto p = runtime({app, "-i", "2", "-x", "--min-uptime", "200"}, {{"NOTIFY_SOCKET", sock}});
  std::string got;
  ASSERT_TRUE(wait_for([&] {
    char buf[256];
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) got.assign(buf, static_cast<std::size_t>(n));
    return n > 0;
  })) << p->err();
  ::close(fd);
  EXPECT_THAT(got, HasSubstr("READY=1"));
  // Only once both instances were online.
  Json list = jlist();
  ASSERT_EQ(instances(list, "svc").size(), 2u);
  for (const Json& i : instances(list, "svc")) EXPECT_EQ(i["pm2_env"]["status"], "online");
  // The apps got the daemon's own notify socket, not the outer one.
  CommandResult env = herd({"env", "0"});
  EXPECT_THAT(env.out, ::testing::Not(HasSubstr(sock))) << env;
  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout));
}

TEST_F(RuntimeTest, BadInputFailsBeforeAnythingStarts) {
  CommandResult r = herd({"runtime"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("runtime needs an ecosystem file or a script"));

  std::string app = write_script("ok", "exec sleep 1000\n");
  r = herd({"runtime", app, "--no-such-flag"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--no-such-flag' for runtime"));

  write_file(path("broken.json"), "{\"apps\": [{\"name\": \"a\", \"script\": }]}");
  r = herd({"runtime", path("broken.json")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("broken.json"));

  // A program that does not exist: every app is stopped and it exits 1, not half running.
  write_file(path("half.json"), "{\"apps\": [{\"name\": \"good\", \"script\": \"" + app +
                                    "\"}, {\"name\": \"bad\", \"script\": \"" +
                                    path("missing-program") + "\"}]}");
  r = herd({"runtime", path("half.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("missing-program"));
  EXPECT_THAT(r.err, HasSubstr("could not start; stopping everything"));

  r = herd({"runtime", "--metrics-port", "99999", app});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--metrics-port"));
  EXPECT_FALSE(file_exists(path("herd.pid")));
}

// PID 1 of a new PID namespace (needs root and unshare(1); skips, saying so, without them): an
// app that leaves an orphan behind (a daemonizing child whose parent exited) has it reaped by
// the runtime: once it ended, no zombie is left.
TEST_F(RuntimeTest, AsPid1ItReapsOrphans) {
  if (::geteuid() != 0) GTEST_SKIP() << "a PID namespace needs root";
  std::string unshare;
  for (const char* dir : {"/usr/bin", "/bin"}) {
    std::string u = std::string(dir) + "/unshare";
    if (::access(u.c_str(), X_OK) == 0) unshare = u;
  }
  if (unshare.empty()) GTEST_SKIP() << "unshare (util-linux) is not installed";
  std::string done = path("orphan-done");
  std::string app = write_script(
      "forker", "( (sleep 0.3; echo done > " + done + ") & )\necho forked\nexec sleep 1000\n");
  std::string herd = herd_bin_;
  herd_bin_ = write_script("herd-in-ns",
                           "exec " + unshare + " --pid --fork --mount-proc " + herd + " \"$@\"\n");
  auto p = runtime({app, "--name", "forker"});
  herd_bin_ = herd;
  ASSERT_TRUE(
      p->wait_output([](const std::string& o) { return contains(o, "forked"); }, kWaitTimeout))
      << p->err();
  // The runtime is unshare's child, PID 1 inside.
  pid_t rt = 0;
  ASSERT_TRUE(wait_for([&] {
    auto kids = child_pids(p->pid());
    if (kids.size() == 1) rt = kids[0];
    return rt > 0;
  }));
  ASSERT_THAT(read_file("/proc/" + std::to_string(rt) + "/status"), HasSubstr("NSpid:\t"));
  EXPECT_THAT(read_file("/proc/" + std::to_string(rt) + "/status"),
              ::testing::ContainsRegex("NSpid:\t[0-9]+\t1\n"));
  ASSERT_TRUE(wait_for([&] { return file_exists(done); }));
  // Left: the instance alone, no zombie.
  EXPECT_TRUE(wait_for([&] {
    auto kids = child_pids(rt);
    return kids.size() == 1 && zombie_children(rt).empty();
  })) << "children of the runtime: "
      << child_pids(rt).size() << ", zombies: " << zombie_children(rt).size();
  ::kill(rt, SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout)) << p->err();
  EXPECT_EQ(p->code(), 0) << p->err();
}

}  // namespace
}  // namespace herd::e2e

namespace herd::e2e {
namespace {

// SIGTERM while clients send requests, over keep-alive connections and one connection a request:
// every request on its way when the stop began is answered, keep-alive connections go on until
// the instances close them (Connection: close), and the runtime exits 0 within kill_timeout.
// (New connections stop with the signal: one the kernel completes between the last instance's
// final accept and its close would be reset whatever the instances do; Traffic::stop_connecting.)
TEST_F(RuntimeTest, SigtermUnderLoadAnswersEveryAcceptedRequest) {
  std::string hello = herd_bin_.substr(0, herd_bin_.rfind('/')) + "/hello";
  auto p = runtime({hello, "-i", "2", "--listen", "127.0.0.1:0", "--kill-timeout", "5000", "--",
                    "--host", "127.0.0.1", "--port", "0"});
  ASSERT_TRUE(wait_status("hello", "online", 2)) << p->err();
  int port = 0;
  for (const Json& i : instances(jlist(), "hello")) {
    std::string address = i["pm2_env"]["listen"][0].get<std::string>();
    port = std::atoi(address.substr(address.rfind(':') + 1).c_str());
  }
  ASSERT_GT(port, 0);
  Traffic a(port, "Hello World!", Traffic::Mode::kKeepAlive);
  Traffic b(port, "Hello World!", Traffic::Mode::kClose);
  ASSERT_TRUE(a.wait_more(200)) << a.failures();
  ASSERT_TRUE(b.wait_more(100)) << b.failures();
  a.stop_connecting();
  b.stop_connecting();
  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout)) << p->err();
  a.stop();
  b.stop();
  EXPECT_EQ(p->code(), 0);
  EXPECT_EQ(a.failed() - a.refused(), 0) << a.failures() << "\nERR:\n" << p->err();
  EXPECT_EQ(b.failed() - b.refused(), 0) << b.failures() << "\nERR:\n" << p->err();
}

}  // namespace
}  // namespace herd::e2e
