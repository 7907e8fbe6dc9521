// The cluster API from C++: this test binary runs as a primary (role "cluster_api"), and the
// primary runs it again as its workers (cluster::is_worker() tells them apart). The primary
// walks through the events and calls of herd/cluster/cluster.h and prints what it saw on stdout,
// one event per line, for the test to check.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "herd/cluster/cluster.h"
#include "herd/cluster/cluster_worker.h"
#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace herd {
namespace {

using nlohmann::json;

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int run_worker() {
  EventLoop loop;
  http::Server server(loop, [](const http::Request&, http::Response res) { res.end("ok"); });
  cluster::WorkerProcess worker(loop);
  if (!worker.start()) return 3;
  worker.on_message([&](ChannelMessage m) {
    if (m.body == "echo") {
      (void)worker.send({{"echo", worker.id()}});
    } else if (m.body == "ask") {
      (void)worker.request("time?", [&](Result<ChannelMessage> r) {
        (void)worker.send({{"asked", r ? r->body : json(r.error().message())}});
      });
    }
  });
  worker.on_request([](ChannelMessage m, Responder reply) {
    reply.reply(m.body["add"][0].get<int>() + m.body["add"][1].get<int>());
  });
  // A stuck worker: something of its own keeps its loop alive after the disconnect.
  Timer stuck(loop);
  if (const char* e = std::getenv("CLUSTER_TEST_STUCK"); e != nullptr) {
    stuck.start([] {}, 1000, 1000);
  }
  // A worker whose loop blocks (on a FIFO the test opens and writes when it is done) while it
  // holds connections: the primary must stop feeding it.
  const char* fifo = std::getenv("CLUSTER_TEST_BLOCK_FIFO");
  bool blocked = false;  // outlives the callback below
  if (fifo != nullptr && worker.id() == 1) {
    worker.listen(
        *Address::parse("127.0.0.1:0"),
        [&, fifo](Fd fd) {
          server.serve_connection(std::move(fd));
          if (blocked) return;
          blocked = true;
          int f = ::open(fifo, O_RDONLY | O_CLOEXEC);
          char c;
          if (f >= 0 && ::read(f, &c, 1) < 0) c = 0;
          if (f >= 0) ::close(f);
        },
        [&](Result<Address> a) {
          if (!a) worker.disconnect();
        });
  } else {
    worker.serve(server, *Address::parse("127.0.0.1:0"), [&](Result<Address> a) {
      if (!a) worker.disconnect();
    });
  }
  loop.run();
  return 0;
}

int run_primary() {
  EventLoop loop;
  cluster::Options options;
  options.workers = 3;
  options.scheduling = cluster::Scheduling::kRoundRobin;
  options.handle_signals = false;
  options.kill_timeout = std::chrono::seconds(10);
  cluster::Primary primary(loop, options);
  int listening = 0;
  int echoes = 0;
  bool walked = false;
  // The walk: broadcast, both kinds of requests, kill and disconnect on purpose, a rolling
  // restart by API, then stop.
  auto walk = [&] { say("broadcast " + std::to_string(primary.broadcast("echo"))); };
  primary.on_fork([](cluster::Worker& w) {
    say("fork " + std::to_string(w.id()) + " slot " + std::to_string(w.slot()));
  });
  primary.on_online([](cluster::Worker& w) { say("online " + std::to_string(w.id())); });
  primary.on_listening([&](cluster::Worker& w, const Address& a) {
    say("listening " + std::to_string(w.id()) + " port " + std::to_string(a.port()));
    if (++listening == 3 && !walked) {
      walked = true;
      walk();
    }
  });
  primary.on_request([](cluster::Worker& w, ChannelMessage m, Responder reply) {
    reply.reply({{"to", w.id()}, {"question", m.body}});
  });
  primary.on_message([&](cluster::Worker& w, ChannelMessage m) {
    say("message " + std::to_string(w.id()) + " " + m.body.dump());
    if (m.body.contains("echo") && ++echoes == 3) {
      (void)primary.worker(2)->send("ask");
    } else if (m.body.contains("asked")) {
      (void)primary.worker(3)->request({{"add", {2, 3}}}, [&](Result<ChannelMessage> r) {
        say("sum " + (r ? r->body.dump() : r.error().message()));
        primary.worker(1)->kill(SIGTERM);
      });
    }
  });
  primary.on_disconnect([](cluster::Worker& w) { say("disconnect " + std::to_string(w.id())); });
  primary.on_exit([&](cluster::Worker& w, const cluster::ExitInfo& info) {
    say("exit " + std::to_string(w.id()) + " code " + std::to_string(info.code) + " signal " +
        std::to_string(info.signal) + (info.on_purpose ? " on purpose" : " died"));
    if (w.id() == 1) {
      primary.rolling_restart([&](Status s) {
        say(s ? "rolling ok" : "rolling " + s.error().message());
        say("workers " + std::to_string(primary.workers().size()));
        // Worker 2 was rolled into 4, worker 3 into 5: disconnect 5, stop with 4 running.
        if (auto* w5 = primary.worker(5)) w5->disconnect();
      });
    } else if (w.id() == 5) {
      primary.stop([] { say("stopped"); });
    }
  });
  if (auto s = primary.start(); !s) {
    say("start " + s.error().message());
    return 1;
  }
  loop.run();
  say("loop ended");
  return 0;
}

bool role = test::register_role(
    "cluster_api", [](int, char**) { return cluster::is_worker() ? run_worker() : run_primary(); });

// stop() on a worker that does not exit: SIGKILL once kill_timeout has passed.
int run_stuck_primary() {
  EventLoop loop;
  cluster::Options options;
  options.workers = 1;
  options.handle_signals = false;
  options.kill_timeout = std::chrono::milliseconds(300);
  options.env = {"CLUSTER_TEST_STUCK=1"};
  cluster::Primary primary(loop, options);
  primary.on_listening(
      [&](cluster::Worker&, const Address&) { primary.stop([] { say("stopped"); }); });
  primary.on_exit([](cluster::Worker& w, const cluster::ExitInfo& info) {
    say("exit " + std::to_string(w.id()) + " code " + std::to_string(info.code) + " signal " +
        std::to_string(info.signal) + (info.on_purpose ? " on purpose" : " died"));
  });
  if (!primary.start()) return 1;
  loop.run();
  return 0;
}

bool stuck_role = test::register_role("cluster_stuck", [](int, char**) {
  return cluster::is_worker() ? run_worker() : run_stuck_primary();
});

// Healing: workers that die young are replaced after 50, then 100 ms; one that ran longer than
// stable_after resets the delay to 50 ms. The delays are read from the primary's log.
int run_backoff_primary() {
  ::dup2(STDOUT_FILENO, STDERR_FILENO);  // the log, with the events, for the test to read
  EventLoop loop;
  cluster::Options options;
  options.workers = 1;
  options.handle_signals = false;
  options.restart_delay = std::chrono::milliseconds(50);
  options.restart_factor = 2;
  options.stable_after = std::chrono::milliseconds(300);
  cluster::Primary primary(loop, options);
  Timer later(loop);
  primary.on_listening([&](cluster::Worker& w, const Address&) {
    say("listening " + std::to_string(w.id()));
    pid_t pid = w.pid();
    if (w.id() <= 2) {
      ::kill(pid, SIGKILL);  // dies young: not on purpose
    } else if (w.id() == 3) {
      later.start([pid] { ::kill(pid, SIGKILL); }, 600);  // dies after a stable run
    } else {
      primary.stop([] { say("stopped"); });
    }
  });
  if (!primary.start()) return 1;
  loop.run();
  return 0;
}

bool backoff_role = test::register_role("cluster_backoff", [](int, char**) {
  return cluster::is_worker() ? run_worker() : run_backoff_primary();
});

TEST(ClusterApi, StopKillsAWorkerThatDoesNotExitWithinTheKillTimeout) {
  auto r = test::run_self("cluster_stuck", {}, std::chrono::seconds(60));
  ASSERT_TRUE(r.exited) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("exit 1 code -1 signal 9 on purpose\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stopped\n"), std::string::npos) << r.output;
}

TEST(ClusterApi, RestartDelayGrowsThenResetsAfterAStableRun) {
  auto r = test::run_self("cluster_backoff", {}, std::chrono::seconds(60));
  ASSERT_TRUE(r.exited) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string& out = r.output;
  std::size_t a = out.find("restarting slot 0 in 50 ms");
  ASSERT_NE(a, std::string::npos) << out;
  std::size_t b = out.find("restarting slot 0 in 100 ms", a);
  ASSERT_NE(b, std::string::npos) << out;
  std::size_t c = out.find("restarting slot 0 in 50 ms", b);
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_NE(out.find("listening 4", c), std::string::npos) << out;
  EXPECT_NE(out.find("stopped", c), std::string::npos) << out;
}

TEST(ClusterApi, EventsMessagesRequestsKillRollingRestartAndStop) {
  auto r = test::run_self("cluster_api", {}, std::chrono::seconds(60));
  ASSERT_TRUE(r.exited) << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& out = r.output;
  auto has = [&](const std::string& line) { return out.find(line + "\n") != std::string::npos; };
  for (int id : {1, 2, 3}) {
    EXPECT_TRUE(has("fork " + std::to_string(id) + " slot " + std::to_string(id - 1))) << out;
    EXPECT_TRUE(has("online " + std::to_string(id))) << out;
    EXPECT_TRUE(has("message " + std::to_string(id) + " {\"echo\":" + std::to_string(id) + "}"))
        << out;
  }
  EXPECT_TRUE(has("broadcast 3")) << out;
  EXPECT_TRUE(has("message 2 {\"asked\":{\"question\":\"time?\",\"to\":2}}")) << out;
  EXPECT_TRUE(has("sum 5")) << out;
  // Killed on purpose: not restarted (slot 0 never forks again).
  // SIGTERM: the worker disconnects itself gracefully and exits with 0.
  EXPECT_TRUE(has("exit 1 code 0 signal 0 on purpose")) << out;
  EXPECT_EQ(out.find("slot 0", out.find("exit 1 ")), std::string::npos) << out;
  // The rolling restart replaced 2 and 3 by 4 and 5, each new one listening before the old
  // one was disconnected.
  EXPECT_TRUE(has("fork 4 slot 1")) << out;
  EXPECT_TRUE(has("fork 5 slot 2")) << out;
  EXPECT_LT(out.find("listening 4 "), out.find("disconnect 2\n")) << out;
  EXPECT_LT(out.find("listening 5 "), out.find("disconnect 3\n")) << out;
  EXPECT_TRUE(has("exit 2 code 0 signal 0 on purpose")) << out;
  EXPECT_TRUE(has("exit 3 code 0 signal 0 on purpose")) << out;
  EXPECT_TRUE(has("rolling ok")) << out;
  EXPECT_TRUE(has("workers 2")) << out;
  EXPECT_TRUE(has("exit 5 code 0 signal 0 on purpose")) << out;
  EXPECT_TRUE(has("exit 4 code 0 signal 0 on purpose")) << out;
  EXPECT_LT(out.find("disconnect 4\n"), out.find("exit 4 ")) << out;
  EXPECT_TRUE(has("stopped")) << out;
  EXPECT_TRUE(has("loop ended")) << out;
  EXPECT_EQ(out.find(" died"), std::string::npos) << out;
}

}  // namespace
}  // namespace herd

namespace herd {
namespace {

// Round robin with a stuck worker: the primary prints the port, then runs until SIGTERM.
int run_credit_primary() {
  EventLoop loop;
  cluster::Options options;
  options.workers = 2;
  options.scheduling = cluster::Scheduling::kRoundRobin;
  options.kill_timeout = std::chrono::milliseconds(500);
  cluster::Primary primary(loop, options);
  int listening = 0;
  primary.on_listening([&](cluster::Worker&, const Address& a) {
    if (++listening == 2) say("port " + std::to_string(a.port()));
  });
  if (!primary.start()) return 1;
  loop.run();
  return 0;
}

bool credit_role = test::register_role("cluster_credit", [](int, char**) {
  return cluster::is_worker() ? run_worker() : run_credit_primary();
});

// Worker 1 blocks its loop on its first connection. Without a credit it would keep getting every
// other connection (half of them would hang); with it, the primary stops after 16 unacknowledged
// connections and the rest go to worker 2.
TEST(ClusterApi, RoundRobinStopsFeedingAStuckWorker) {
  test::TempDir dir("credit");
  std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  test::ChildSpec spec = test::self_spec("cluster_credit");
  spec.env.push_back("CLUSTER_TEST_BLOCK_FIFO=" + fifo);
  spec.err = test::Output::kInherit;
  test::Child child;  // SIGKILLed and reaped when the test ends, before the FIFO goes
  ASSERT_TRUE(child.start(spec));

  child.wait_output(
      [](const std::string& out) { return out.find('\n', out.find("port ")) != std::string::npos; },
      std::chrono::seconds(30));
  const std::string& text = child.out();
  auto at = text.find("port ");
  ASSERT_NE(at, std::string::npos) << text;
  int port = std::stoi(text.substr(at + 5));

  constexpr int kConnections = 100;
  std::vector<Fd> conns;
  std::vector<bool> answered(kConnections, false);
  for (int i = 0; i < kConnections; ++i) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<std::uint16_t>(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd.get(), req, sizeof(req) - 1, MSG_NOSIGNAL), ssize_t(sizeof(req) - 1));
    conns.push_back(std::move(fd));
  }
  auto count = [&] {
    int n = 0;
    for (bool a : answered) n += a ? 1 : 0;
    return n;
  };
  auto pump = [&](int want, std::chrono::seconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (count() < want && std::chrono::steady_clock::now() < end) {
      std::vector<pollfd> ps;
      for (int i = 0; i < kConnections; ++i) {
        if (!answered[static_cast<std::size_t>(i)])
          ps.push_back({conns[static_cast<std::size_t>(i)].get(), POLLIN, 0});
      }
      if (::poll(ps.data(), ps.size(), 100) <= 0) continue;
      for (auto& p : ps) {
        if (p.revents == 0) continue;
        char buf[1024];
        if (::recv(p.fd, buf, sizeof(buf), MSG_PEEK) > 0) {
          for (int i = 0; i < kConnections; ++i) {
            if (conns[static_cast<std::size_t>(i)].get() == p.fd)
              answered[static_cast<std::size_t>(i)] = true;
          }
        }
      }
    }
    return count();
  };
  // Everything but what the stuck worker holds is answered while it is stuck: at most its
  // credit (16) plus the one it blocked on.
  int while_stuck = pump(kConnections - 17, std::chrono::seconds(30));
  EXPECT_GE(while_stuck, kConnections - 17);
  EXPECT_LT(while_stuck, kConnections) << "the stuck worker got nothing";
  // Released: the connections it held are answered too.
  // Non-blocking: if the worker never blocks on the FIFO, this fails instead of hanging. On a
  // loaded machine the others may have answered their share before the stuck worker opened it:
  // wait for its reader (ENXIO until then), with a deadline.
  int w = -1;
  herd::test::wait_for(
      [&] {
        w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return w >= 0;
      },
      std::chrono::seconds(10));
  ASSERT_GE(w, 0);
  ASSERT_EQ(::write(w, "x", 1), 1);
  ::close(w);
  EXPECT_EQ(pump(kConnections, std::chrono::seconds(30)), kConnections);
}

}  // namespace
}  // namespace herd
