// `herd monit` in a real terminal: tmux runs it in a detached session of a fixed size on a
// private socket, the test reads the pane (capture-pane) and types keys (send-keys). It shows
// the processes and the selected app's log (old and live lines), follows the selection, redraws
// on resize, and quits on `q` with status 0. Without a terminal, or with a TERM it cannot use, it
// says why and exits 1. Skipped when tmux is not installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "e2e/cluster_mode_fixture.h"
#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"

extern char** environ;

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

std::string find_tmux() {
  for (const char* p : {"/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// Characters (UTF-8 code points) in `line`.
std::size_t code_points(const std::string& line) {
  std::size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

class MonitTest : public HerdTest {
 protected:
  void SetUp() override {
    HerdTest::SetUp();
    if (HasFatalFailure()) return;
    tmux_ = find_tmux();
    if (tmux_.empty()) GTEST_SKIP() << "tmux is not installed";
    socket_ = path("tmux.sock");
    // remain-on-exit before any pane exists: a pane that exits at once still shows its status.
    write_file(path("tmux.conf"), "set-option -g remain-on-exit on\nset-option -g status off\n");
  }

  void TearDown() override {
    if (!socket_.empty() && server_.pid > 0) {
      run_tmux({"kill-server"});
      if (!wait_for([&] { return dead(server_); }, 5s)) ::kill(server_.pid, SIGKILL);
    }
    HerdTest::TearDown();  // also kills anything left with this HERD_HOME (the tmux server too)
  }

  // `tmux -S <socket> -f <conf> <args>`, with this test's HERD_HOME in its environment.
  CommandResult run_tmux(const std::vector<std::string>& args) {
    std::vector<std::string> argv{tmux_, "-S", socket_, "-f", path("tmux.conf")};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      if (kv.rfind("HERD_HOME=", 0) != 0 && kv.rfind("TMUX=", 0) != 0) env.push_back(kv);
    }
    env.push_back("HERD_HOME=" + home_);
    Process p;
    EXPECT_TRUE(p.spawn(argv, env)) << "spawn " << tmux_;
    bool done = p.wait_exit(kCommandTimeout);
    if (!done) p.signal(SIGKILL);
    EXPECT_TRUE(done) << "tmux " << args[0] << " did not finish";
    return p.result();
  }

  // A detached 120x30 session named "monit" running `command` in a shell that prints
  // "herd-exit=<status>" after it. The status is read from the pane, not from tmux's
  // #{pane_dead_status}: tmux 3.3a sometimes leaves a pane's process unreaped (a zombie, status
  // unknown) when its terminal closes just before it exits, which is exactly what a curses
  // program that quits does.
  void start_session(const std::string& command) {
    CommandResult r = run_tmux({"new-session", "-d", "-s", "monit", "-x", "120", "-y", "30",
                                command + "; echo herd-exit=$?"});
    ASSERT_EQ(r.exit_code, 0) << r;
    r = run_tmux({"display-message", "-p", "#{pid}"});
    ASSERT_EQ(r.exit_code, 0) << r;
    auto id = proc_id(std::atoi(r.out.c_str()));
    ASSERT_TRUE(id.has_value()) << "no tmux server pid in '" << r.out << "'";
    server_ = *id;
  }

  // The visible pane; with `history`, also what scrolled off, wrapped lines joined.
  std::string pane(bool history = false) {
    if (history) return run_tmux({"capture-pane", "-p", "-J", "-S", "-", "-t", "monit"}).out;
    return run_tmux({"capture-pane", "-p", "-t", "monit"}).out;
  }

  // Polls the pane until `pred` holds; `last` gets the last capture.
  bool wait_pane(const std::function<bool(const std::string&)>& pred, std::string* last,
                 bool history = false) {
    return wait_for(
        [&] {
          *last = pane(history);
          return pred(*last);
        },
        kWaitTimeout, 50ms);
  }

  // Waits until the pane shows that the command exited with `status`.
  bool wait_exit_status(int status) {
    std::string want = "herd-exit=" + std::to_string(status), screen;
    bool ok = wait_pane([&](const std::string& s) { return contains(s, want); }, &screen, true);
    EXPECT_TRUE(ok) << "no '" << want << "' in the pane:\n" << screen;
    return ok;
  }

  std::string tmux_;
  std::string socket_;
  ProcId server_;
};

TEST_F(MonitTest, ShowsTheProcessesAndTheSelectedAppsLiveLogAndQuitsOnQ) {
  CommandResult r = herd({"start", test_binary(), "-n", "alpha", "--min-uptime", "100"},
                         {{kRoleVar, "marker_printer"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", write_script("beta", "echo beta-line-one\nexec sleep 1000\n"), "-n", "beta",
            "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("alpha", "online", 1, kWaitTimeout, &list));
  ASSERT_TRUE(wait_status("beta", "online", 1, kWaitTimeout, &list));
  std::string alpha_pid = std::to_string(instance(list, "alpha")["pid"].get<int>());
  ASSERT_TRUE(wait_for([&] {
    return contains(read_file(path("logs/alpha-out.log")), "printer started") &&
           contains(read_file(path("logs/beta-out.log")), "beta-line-one");
  }));

  start_session(herd_bin_ + " monit");
  std::string screen;
  // Both apps, their status and the first app's (alpha, id 0, selected first) log from its file.
  EXPECT_TRUE(wait_pane(
      [&](const std::string& s) {
        return contains(s, "herd monit") && contains(s, "alpha") && contains(s, "beta") &&
               contains(s, "online") && contains(s, alpha_pid) && contains(s, "logs: alpha") &&
               contains(s, "0|alpha | printer started");
      },
      &screen))
      << screen;
  EXPECT_THAT(screen, HasSubstr("cpu"));
  EXPECT_THAT(screen, HasSubstr("mem"));
  EXPECT_THAT(screen, HasSubstr("uptime"));

  // A line the app prints now arrives through the daemon's log stream.
  ASSERT_EQ(herd({"signal", "SIGUSR1", "alpha"}).exit_code, 0);
  EXPECT_TRUE(
      wait_pane([](const std::string& s) { return contains(s, "0|alpha | marker-1"); }, &screen))
      << screen;

  // Down selects beta: its log replaces alpha's.
  ASSERT_EQ(run_tmux({"send-keys", "-t", "monit", "Down"}).exit_code, 0);
  EXPECT_TRUE(wait_pane(
      [](const std::string& s) {
        return contains(s, "logs: beta") && contains(s, "1|beta | beta-line-one") &&
               !contains(s, "marker-1");
      },
      &screen))
      << screen;
  // k goes back up.
  ASSERT_EQ(run_tmux({"send-keys", "-t", "monit", "k"}).exit_code, 0);
  EXPECT_TRUE(wait_pane([](const std::string& s) { return contains(s, "logs: alpha"); }, &screen))
      << screen;

  // A smaller window: the screen is laid out again for 70 columns.
  ASSERT_EQ(run_tmux({"resize-window", "-t", "monit", "-x", "70", "-y", "20"}).exit_code, 0);
  EXPECT_TRUE(wait_pane(
      [](const std::string& s) {
        std::istringstream lines(s);
        for (std::string line; std::getline(lines, line);) {
          if (contains(line, "logs: alpha")) {
            return code_points(line) == 70;  // the rule spans the new width exactly
          }
        }
        return false;
      },
      &screen))
      << screen;

  ASSERT_EQ(run_tmux({"send-keys", "-t", "monit", "q"}).exit_code, 0);
  wait_exit_status(0);
}

// The diagnostics columns (docs/diagnostics.md): a memory sparkline for every instance, and
// the connection share bars of a cluster app whose instances took connections.
TEST_F(MonitTest, ShowsAMemorySparklineAndConnectionShares) {
  std::string server = herd_bin_.substr(0, herd_bin_.rfind('/')) + "/load_server";
  int port = free_port();
  CommandResult r =
      herd({"start", server, "-n", "web", "-i", "2", "--", std::to_string(port), "-1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("web", "online", 2, kWaitTimeout, &list));
  // Connections until the shares are known (jlist), so the column has something to draw.
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        std::string error;
        (void)exchange(port, "GET / HTTP/1.0\r\n\r\n", 5s, &error);
        for (const auto& p : instances(l, "web")) {
          // (a const Json's [] of a missing key is undefined: asked with value())
          Json load =
              p["pm2_env"].value("diagnostics", Json::object()).value("load", Json::object());
          if (!load.value("connection_share", Json()).is_number()) return false;
        }
        return true;
      },
      kWaitTimeout));
  start_session(herd_bin_ + " monit");
  std::string screen;
  EXPECT_TRUE(wait_pane(
      [&](const std::string& s) {
        return contains(s, "conn share") && contains(s, "memory") && contains(s, "%") &&
               (contains(s, "\u2588") || contains(s, "\u2591"));
      },
      &screen))
      << screen;
  ASSERT_EQ(run_tmux({"send-keys", "-t", "monit", "q"}).exit_code, 0);
  wait_exit_status(0);
}

TEST_F(MonitTest, AnUnusableTermIsRefusedWithAReason) {
  start_session("TERM=herd-no-such-terminal " + herd_bin_ + " monit");
  wait_exit_status(1);
  std::string screen;
  EXPECT_TRUE(wait_pane(
      [](const std::string& s) {
        return contains(s, "herd: TERM='herd-no-such-terminal' is not a terminal type");
      },
      &screen, true))
      << screen;
}

TEST_F(HerdTest, MonitWithoutATerminalSaysSo) {
  CommandResult r = herd({"monit"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("monit needs a terminal"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace herd::e2e
