// Ends of connections and of servers: graceful close with requests in flight, clients that
// leave in the middle of an answer, GracefulShutdown (signals, forced exit), sd_notify and
// socket activation.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/http/server.h"
#include "herd/loop/timer.h"
#include "support/child_process.h"
#include "unit/http_test_client.h"

namespace herd::http {
namespace {

using test::HttpHarness;
using test::HttpTestClient;

const char* const kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// Answers "/now" at once and holds everything else in `held`.
Handler holding(std::vector<Response>* held) {
  return [held](const Request& req, Response res) {
    if (req.target() == "/now") return res.end("now");
    held->push_back(std::move(res));
  };
}

TEST(HttpClose, GracefulCloseLosesNoRequestInFlight) {
  HttpHarness h;
  std::vector<Response> held;
  ASSERT_TRUE(h.start(holding(&held)));
  // An idle keep-alive connection (served once) and one that has not sent anything.
  auto idle = h.connect();
  idle->send("GET /now HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle->wait_replies(1));
  auto silent = h.connect();
  // Ten requests in flight, on ten connections.
  std::vector<std::unique_ptr<HttpTestClient>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(h.connect());
    clients.back()->send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 10; }));
  ASSERT_EQ(h.server->metrics().active_connections, 12u);

  bool done = false;
  h.server->close([&] { done = true; });
  EXPECT_FALSE(done);  // never from inside close()
  // The handlers answer later, each from a timer of its own.
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 10; ++i) {
    timers.push_back(std::make_unique<Timer>(h.loop));
    timers.back()->start([&, i] { held[i].end("answer " + std::to_string(i)); },
                         static_cast<std::uint64_t>(5 + 3 * i));
  }
  // New connections are refused at once.
  Stream probe(h.loop);
  std::optional<Status> refused;
  ASSERT_TRUE(probe.connect(h.address, [&](Status s) { refused = s; }));
  ASSERT_TRUE(test::run_until(h.loop, [&] { return refused.has_value(); }));
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().code(), ECONNREFUSED);
  probe.close();
  // The idle connections are closed without an answer.
  EXPECT_TRUE(idle->wait_closed());
  EXPECT_EQ(idle->replies.size(), 1u);
  EXPECT_TRUE(silent->wait_closed());
  EXPECT_EQ(silent->raw, "");

  ASSERT_TRUE(test::run_until(h.loop, [&] { return done; }));
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(clients[i]->replies.size(), 1u);
    EXPECT_EQ(clients[i]->replies[0].status, 200);
    EXPECT_EQ(clients[i]->replies[0].body, "answer " + std::to_string(i));
    EXPECT_EQ(clients[i]->replies[0].header("Connection"), "close");
    EXPECT_TRUE(clients[i]->closed);
  }
  EXPECT_EQ(h.server->metrics().active_connections, 0u);
  EXPECT_EQ(h.server->metrics().requests_by_class[2], 11u);
  EXPECT_TRUE(h.server->local_addresses().empty());
  EXPECT_FALSE(h.server->listen(*Address::parse("127.0.0.1:0")));
}

// A request that reaches an idle connection just after close() began (a keep-alive client under
// load, or one that connected a moment before: what a rolling reload sees) is answered, with
// Connection: close; closing at once would make its client see a reset or an EOF instead.
TEST(HttpClose, GracefulCloseAnswersARequestThatArrivesOnAnIdleConnection) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) { res.end("hi"); }));
  auto kept = h.connect();
  kept->send(kGet);
  ASSERT_TRUE(kept->wait_replies(1));
  auto fresh = h.connect();
  ASSERT_TRUE(test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 2; }));
  bool done = false;
  h.server->close([&] { done = true; });
  kept->send(kGet);
  fresh->send(kGet);
  ASSERT_TRUE(kept->wait_replies(2));
  ASSERT_TRUE(fresh->wait_replies(1));
  EXPECT_EQ(kept->replies[1].status, 200);
  EXPECT_EQ(kept->replies[1].header("Connection"), "close");
  EXPECT_EQ(fresh->replies[0].status, 200);
  EXPECT_EQ(fresh->replies[0].header("Connection"), "close");
  EXPECT_TRUE(kept->wait_closed());
  EXPECT_TRUE(fresh->wait_closed());
  ASSERT_TRUE(test::run_until(h.loop, [&] { return done; }));
  EXPECT_EQ(h.server->metrics().active_connections, 0u);
}

TEST(HttpClose, GracefulCloseWithAPipelineAndAHalfSentRequest) {
  HttpHarness h;
  std::vector<Response> held;
  ASSERT_TRUE(h.start(holding(&held)));
  auto piped = h.connect();
  piped->send(std::string(kGet) + kGet);
  auto half = h.connect();
  const std::string first_part = "GET /late HTTP/1.1\r\nHo";
  half->send(first_part);
  ASSERT_TRUE(test::run_until(h.loop, [&] {
    return held.size() == 2 &&
           h.server->metrics().bytes_in == 2 * std::strlen(kGet) + first_part.size();
  }));
  bool done = false;
  h.server->close([&] { done = true; });
  held[1].end("second");
  held[0].end("first");
  ASSERT_TRUE(piped->wait_closed());
  ASSERT_EQ(piped->replies.size(), 2u);
  // Only the last answer of the connection says it is the last.
  EXPECT_TRUE(piped->replies[0].keep_alive);
  EXPECT_EQ(piped->replies[1].header("Connection"), "close");
  // The request that was being received is still answered.
  half->send_more("st: x\r\n\r\n");
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 3; }));
  EXPECT_FALSE(done);
  held[2].end("third");
  ASSERT_TRUE(half->wait_closed());
  ASSERT_EQ(half->replies.size(), 1u);
  EXPECT_EQ(half->replies[0].body, "third");
  EXPECT_EQ(half->replies[0].header("Connection"), "close");
  EXPECT_TRUE(test::run_until(h.loop, [&] { return done; }));
}

TEST(HttpClose, ClientLeavesInTheMiddleOfAStreamedAnswer) {
  HttpHarness h;
  Response stream;
  Timer pump(h.loop);
  bool saw_disconnect = false;
  ASSERT_TRUE(h.start([&](const Request&, Response res) {
    stream = std::move(res);
    pump.start(
        [&] {
          if (!stream.connected()) {
            saw_disconnect = true;
            pump.stop();
            return;
          }
          stream.write(std::string(4096, 'z'));
        },
        1, 1);
  }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(test::run_until(h.loop, [&] { return c->raw.size() > 20'000; }));
  c->close();
  ASSERT_TRUE(test::run_until(h.loop, [&] { return saw_disconnect; }));
  EXPECT_FALSE(stream.connected());
  EXPECT_FALSE(stream.write("dropped"));
  stream.end("dropped too");  // harmless
  EXPECT_TRUE(stream.finished());
  EXPECT_TRUE(test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 0; }));
}

TEST(HttpClose, ClientLeavesWhileTheHandlerHoldsTheResponse) {
  HttpHarness h;
  std::vector<Response> held;
  ASSERT_TRUE(h.start(holding(&held)));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 1; }));
  EXPECT_TRUE(held[0].connected());
  c->close();
  ASSERT_TRUE(test::run_until(h.loop, [&] { return !held[0].connected(); }));
  held[0].end("nobody listens");
  EXPECT_EQ(h.server->metrics().requests_by_class[2], 0u);
  EXPECT_TRUE(test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 0; }));
}

TEST(HttpClose, AResponseMayOutliveItsServer) {
  HttpHarness h;
  std::vector<Response> held;
  ASSERT_TRUE(h.start(holding(&held)));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 1; }));
  h.server.reset();
  EXPECT_FALSE(held[0].connected());
  EXPECT_FALSE(held[0].write("x"));
  held[0].end("late");
  EXPECT_TRUE(c->wait_closed());
}

TEST(HttpClose, GracefulShutdownOnSigtermLetsTheLoopEnd) {
  std::vector<Response> held;
  bool answered = false;
  {
    HttpHarness h;
    ASSERT_TRUE(h.start(holding(&held)));
    GracefulShutdown shutdown(h.loop, *h.server, std::chrono::seconds(30));
    auto c = h.connect();
    c->send(kGet);
    ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 1; }));
    ::raise(SIGTERM);
    // The listener goes away once the signal is handled.
    ASSERT_TRUE(test::run_until(h.loop, [&] { return h.server->local_addresses().empty(); }));
    held[0].end("bye");
    ASSERT_TRUE(c->wait_closed());
    answered = c->replies.size() == 1 && c->replies[0].header("Connection") == "close";
    c.reset();
    // Nothing is left to keep the loop running: run() returns by itself.
    EXPECT_FALSE(h.loop.run());
  }
  EXPECT_TRUE(answered);
}

// A child whose handler never answers: GracefulShutdown must give up after its bound.
[[maybe_unused]] const bool kForceRole = test::register_role("http-force-exit", [](int, char**) {
  HttpHarness h;
  std::vector<Response> held;
  if (!h.start(holding(&held))) return 10;
  GracefulShutdown shutdown(h.loop, *h.server, std::chrono::milliseconds(50));
  auto c = h.connect();
  c->send(kGet);
  if (!test::run_until(h.loop, [&] { return held.size() == 1; })) return 11;
  shutdown.begin("test");
  h.loop.run();  // _exit(1) from the force timer
  return 12;
});

TEST(HttpClose, GracefulShutdownForcesTheExitAfterItsBound) {
  test::ChildResult r = test::run_self("http-force-exit");
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 1);
}

TEST(HttpClose, ListenAndCloseNotifyTheServiceManager) {
  Fd receiver = *Fd::socket(AF_UNIX, SOCK_DGRAM);
  std::string name = "@herd-http-test-" + std::to_string(::getpid());
  auto address = Address::parse("unix:" + name);
  ASSERT_TRUE(address);
  ASSERT_EQ(::bind(receiver.get(), address->data(), address->size()), 0);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  auto next_message = [&] {
    char buf[256];
    ssize_t n = ::recv(receiver.get(), buf, sizeof(buf), MSG_DONTWAIT);
    return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
  };
  {
    HttpHarness h;
    ASSERT_TRUE(h.start([](const Request&, Response res) { res.end(); }));
    EXPECT_EQ(next_message(), "READY=1");
    bool done = false;
    h.server->close([&] { done = true; });
    EXPECT_EQ(next_message(), "STOPPING=1");
    EXPECT_TRUE(test::run_until(h.loop, [&] { return done; }));
  }
  ::unsetenv("NOTIFY_SOCKET");
}

// A child started as systemd or herd would: the listening socket at descriptor 3, LISTEN_FDS=1
// and LISTEN_PID set. Server::listen must serve on it instead of binding a new one.
[[maybe_unused]] const bool kActivatedRole =
    test::register_role("http-socket-activation", [](int argc, char** argv) {
      if (argc < 3) return 20;
      int fd = std::atoi(argv[1]);
      int port = std::atoi(argv[2]);
      // Whatever descriptor 3 holds in this fresh child was leaked to it by whoever ran the
      // tests (ctest does): it gives way to the socket, as under systemd.
      if (fd != 3) {
        if (::dup2(fd, 3) < 0) return 22;
        ::close(fd);
      }
      ::setenv("LISTEN_FDS", "1", 1);
      ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
      HttpHarness h;
      if (!h.start([](const Request&, Response res) { res.end("activated"); })) return 23;
      if (h.address.port() != port) return 24;  // bound anew instead of adopting
      auto c = h.connect();
      c->send(kGet);
      if (!c->wait_replies(1) || c->replies[0].body != "activated") return 25;
      return 0;
    });

TEST(HttpClose, ListenAdoptsAnInheritedSocket) {
  Fd listener = *Fd::socket(AF_INET, SOCK_STREAM);
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_EQ(::bind(listener.get(), any->data(), any->size()), 0);
  ASSERT_EQ(::listen(listener.get(), 16), 0);
  int port = Address::local_of(listener.get())->port();
  test::ChildResult r = test::run_self("http-socket-activation",
                                       {std::to_string(listener.get()), std::to_string(port)},
                                       std::chrono::seconds(20), {listener.get()});
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 0);
}

}  // namespace
}  // namespace herd::http
