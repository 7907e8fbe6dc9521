// herd::Channel: framing, request/response, descriptor passing, backpressure and the end of the
// peer, over real socketpairs (and a real child process for the peer's death).
#include "herd/cluster/channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "herd/loop/event_loop.h"
#include "support/child_process.h"
#include "support/wait.h"

namespace herd {
namespace {

using nlohmann::json;

struct Pair {
  explicit Pair(EventLoop& loop) {
    auto p = Channel::socketpair();
    EXPECT_TRUE(p.has_value());
    a = std::make_unique<Channel>(loop, std::move(p->first));
    b = std::make_unique<Channel>(loop, std::move(p->second));
  }
  std::unique_ptr<Channel> a, b;
};

TEST(Channel, MessagesArriveInOrderWithTheirBodies) {
  EventLoop loop;
  Pair p(loop);
  std::vector<json> got;
  p.b->on_message([&](ChannelMessage m) { got.push_back(std::move(m.body)); });
  ASSERT_TRUE(p.b->start());
  ASSERT_TRUE(p.a->start());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p.a->send({{"n", i}, {"text", std::string(i, 'x')}}));
  ASSERT_TRUE(p.a->send("a string"));
  ASSERT_TRUE(test::run_until(loop, [&] { return got.size() == 101; }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)]["n"], i);
    EXPECT_EQ(got[static_cast<std::size_t>(i)]["text"].get<std::string>().size(),
              static_cast<std::size_t>(i));
  }
  EXPECT_EQ(got.back(), "a string");
}

TEST(Channel, RoundTripBothWays) {
  EventLoop loop;
  Pair p(loop);
  json at_a, at_b;
  p.b->on_message([&](ChannelMessage m) {
    at_b = m.body;
    ASSERT_TRUE(p.b->send({{"echo", m.body}}));
  });
  p.a->on_message([&](ChannelMessage m) { at_a = std::move(m.body); });
  ASSERT_TRUE(p.a->start());
  ASSERT_TRUE(p.b->start());
  ASSERT_TRUE(p.a->send({{"hello", "world"}, {"list", {1, 2, 3}}}));
  ASSERT_TRUE(test::run_until(loop, [&] { return !at_a.is_null(); }));
  EXPECT_EQ(at_b["hello"], "world");
  EXPECT_EQ(at_a["echo"]["list"], json({1, 2, 3}));
}

TEST(Channel, RequestsGetTheirOwnAnswersByIdEvenOutOfOrder) {
  EventLoop loop;
  Pair p(loop);
  std::vector<Responder> held;
  p.b->on_request([&](ChannelMessage m, Responder r) {
    if (m.body["n"] == 0) {
      held.push_back(std::move(r));  // answered last
    } else if (m.body["n"] == 3) {
      r.fail("three is refused");
    } else {
      r.reply({{"square", m.body["n"].get<int>() * m.body["n"].get<int>()}});
    }
  });
  ASSERT_TRUE(p.a->start());
  ASSERT_TRUE(p.b->start());
  std::map<int, json> answers;
  std::map<int, Error> errors;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(p.a->request({{"n", i}}, [&, i](Result<ChannelMessage> r) {
      if (r) {
        answers[i] = r->body;
      } else {
        errors.emplace(i, r.error());
      }
    }));
  }
  ASSERT_TRUE(test::run_until(loop, [&] { return answers.size() + errors.size() == 4; }));
  EXPECT_EQ(answers.count(0), 0u);
  ASSERT_EQ(held.size(), 1u);
  held[0].reply({{"square", 0}, {"late", true}});
  ASSERT_TRUE(test::run_until(loop, [&] { return answers.size() + errors.size() == 5; }));
  EXPECT_EQ(answers[0]["late"], true);
  EXPECT_EQ(answers[2]["square"], 4);
  EXPECT_EQ(answers[4]["square"], 16);
  ASSERT_EQ(errors.count(3), 1u);
  EXPECT_EQ(errors.at(3).code(), EREMOTEIO);
  EXPECT_NE(errors.at(3).message().find("three is refused"), std::string::npos);
  EXPECT_EQ(p.a->pending_requests(), 0u);
}

TEST(Channel, ARequestWithoutHandlerOrDroppedResponderFails) {
  EventLoop loop;
  Pair p(loop);
  ASSERT_TRUE(p.a->start());
  ASSERT_TRUE(p.b->start());
  std::optional<Error> no_handler, dropped;
  ASSERT_TRUE(p.a->request(1, [&](Result<ChannelMessage> r) { no_handler = r.error(); }));
  ASSERT_TRUE(test::run_until(loop, [&] { return no_handler.has_value(); }));
  EXPECT_NE(no_handler->message().find("no request handler"), std::string::npos);
  p.b->on_request([](ChannelMessage, Responder) {});  // drops the responder unanswered
  ASSERT_TRUE(p.a->request(2, [&](Result<ChannelMessage> r) { dropped = r.error(); }));
  ASSERT_TRUE(test::run_until(loop, [&] { return dropped.has_value(); }));
  EXPECT_NE(dropped->message().find("no reply"), std::string::npos);
}

TEST(Channel, BroadcastReachesEveryPeer) {
  EventLoop loop;
  std::vector<std::unique_ptr<Pair>> pairs;
  int received = 0;
  for (int i = 0; i < 4; ++i) {
    pairs.push_back(std::make_unique<Pair>(loop));
    pairs.back()->b->on_message([&](ChannelMessage m) {
      EXPECT_EQ(m.body["to"], "all");
      ++received;
    });
    ASSERT_TRUE(pairs.back()->a->start());
    ASSERT_TRUE(pairs.back()->b->start());
  }
  for (auto& p : pairs) ASSERT_TRUE(p->a->send({{"to", "all"}}));
  ASSERT_TRUE(test::run_until(loop, [&] { return received == 4; }));
}

// A pipe passed across: what is written into the received copy comes out of the kept end.
TEST(Channel, PassesDescriptorsWithTheirFrame) {
  EventLoop loop;
  Pair p(loop);
  std::vector<ChannelMessage> got;
  p.b->on_message([&](ChannelMessage m) { got.push_back(std::move(m)); });
  ASSERT_TRUE(p.a->start());
  ASSERT_TRUE(p.b->start());
  std::vector<std::pair<Fd, Fd>> pipes;
  for (int i = 0; i < 3; ++i) pipes.push_back(*Fd::pipe());
  ASSERT_TRUE(p.a->send("no fds"));
  std::vector<Fd> two;
  two.push_back(std::move(pipes[0].second));
  two.push_back(std::move(pipes[1].second));
  ASSERT_TRUE(p.a->send("two", std::move(two)));
  ASSERT_TRUE(p.a->send("none again"));
  std::vector<Fd> one;
  one.push_back(std::move(pipes[2].second));
  ASSERT_TRUE(p.a->send("one", std::move(one)));
  ASSERT_TRUE(test::run_until(loop, [&] { return got.size() == 4; }));
  EXPECT_EQ(got[0].fds.size(), 0u);
  ASSERT_EQ(got[1].fds.size(), 2u);
  EXPECT_EQ(got[2].fds.size(), 0u);
  ASSERT_EQ(got[3].fds.size(), 1u);
  Fd* writers[3] = {&got[1].fds[0], &got[1].fds[1], &got[3].fds[0]};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(::fcntl(writers[i]->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    char c = static_cast<char>('a' + i);
    ASSERT_EQ(::write(writers[i]->get(), &c, 1), 1);
    char r = 0;
    ASSERT_EQ(::read(pipes[static_cast<std::size_t>(i)].first.get(), &r, 1), 1);
    EXPECT_EQ(r, c);
  }
}

TEST(Channel, RefusesOversizedFramesAndTooManyDescriptors) {
  EventLoop loop;
  Pair p(loop);
  std::vector<Fd> many;
  for (std::size_t i = 0; i <= Channel::kMaxFds; ++i)
    many.push_back(*Fd::open("/dev/null", O_RDONLY));
  auto s = p.a->send("x", std::move(many));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), EMSGSIZE);
  auto big = p.a->send(std::string(Channel::kMaxPayload + 1, 'x'));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), EMSGSIZE);
}

// The reader pauses: the writer's queue grows past the high-water mark, backed_up() says so, and
// the drain callback runs once the reader catches up; nothing is lost.
TEST(Channel, BackpressureAndDrain) {
  EventLoop loop;
  Pair p(loop);
  std::size_t received = 0;
  p.b->on_message([&](ChannelMessage) { ++received; });
  ASSERT_TRUE(p.a->start());
  ASSERT_TRUE(p.b->start());
  p.b->pause_reading();
  int drains = 0;
  p.a->on_drain([&] { ++drains; });
  std::string chunk(4096, 'z');
  std::size_t sent = 0;
  while (!p.a->backed_up()) {
    ASSERT_TRUE(p.a->send(chunk));
    ++sent;
    ASSERT_LT(sent, 100000u) << "the queue never backed up";
  }
  // Kernel buffers took the first frames; ours holds at least the mark now.
  EXPECT_GE(p.a->queued_bytes(), 64u * 1024);
  loop.run(RunMode::kNoWait);
  EXPECT_EQ(received, 0u);
  EXPECT_EQ(drains, 0);
  p.b->resume_reading();
  ASSERT_TRUE(test::run_until(loop, [&] { return received == sent && drains == 1; }));
  EXPECT_EQ(p.a->queued_bytes(), 0u);
  EXPECT_FALSE(p.a->backed_up());
}

TEST(Channel, EndFlushesThenThePeerSeesACleanEof) {
  EventLoop loop;
  Pair p(loop);
  int received = 0;
  std::optional<Status> ended;
  p.b->on_message([&](ChannelMessage) { ++received; });
  p.b->on_end([&](Status s) { ended = s; });
  ASSERT_TRUE(p.a->start());
  ASSERT_TRUE(p.b->start());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.a->send(i));
  p.a->end();
  EXPECT_EQ(p.a->send(11).error().code(), EPIPE);
  ASSERT_TRUE(test::run_until(loop, [&] { return ended.has_value(); }));
  EXPECT_EQ(received, 10);
  EXPECT_TRUE(ended->has_value());
  EXPECT_FALSE(p.b->is_open());
  EXPECT_EQ(p.b->send(1).error().code(), EPIPE);
}

TEST(Channel, MalformedFrameEndsTheChannelWithEproto) {
  EventLoop loop;
  auto pair = *Channel::socketpair();
  Channel c(loop, std::move(pair.first));
  std::optional<Status> ended;
  c.on_end([&](Status s) { ended = s; });
  ASSERT_TRUE(c.start());
  const char bad[] = "\x05\x00\x00\x00\x00\x00\x00\x00{oops";
  ASSERT_EQ(::write(pair.second.get(), bad, 13), 13);
  ASSERT_TRUE(test::run_until(loop, [&] { return ended.has_value(); }));
  ASSERT_FALSE(*ended);
  EXPECT_EQ(ended->error().code(), EPROTO);
}

TEST(Channel, CloseFailsPendingRequestsWithEcanceled) {
  EventLoop loop;
  Pair p(loop);
  ASSERT_TRUE(p.a->start());
  std::optional<Error> error;
  ASSERT_TRUE(p.a->request("never answered", [&](Result<ChannelMessage> r) { error = r.error(); }));
  p.a->close();
  ASSERT_TRUE(test::run_until(loop, [&] { return error.has_value(); }));
  EXPECT_EQ(error->code(), ECANCELED);
}

// A peer process that dies by SIGKILL: its end closes with it, and the channel ends at once
// (EOF) with the waiting request failed, without any timer.
bool child_role = test::register_role("channel_peer", [](int, char**) {
  // The channel is descriptor 3: answer "ping", hold the rest, wait to be killed.
  EventLoop loop;
  Channel c(loop, Fd(3));
  std::vector<Responder> held;  // every other request waits for the kill, unanswered
  c.on_request([&held](ChannelMessage m, Responder r) {
    if (m.body == "ping") {
      r.reply({{"pid", ::getpid()}, {"got", m.body}});
    } else {
      held.push_back(std::move(r));
    }
  });
  if (!c.start()) return 2;
  loop.run();
  return 0;
});

TEST(Channel, PeerDeathIsSeenAtOnce) {
  EventLoop loop;
  auto pair = *Channel::socketpair();
  test::ChildSpec spec = test::self_spec("channel_peer");
  spec.fds = {pair.second.get()};
  spec.out = spec.err = test::Output::kInherit;
  test::Child child;  // SIGKILLed and reaped when the test ends
  ASSERT_TRUE(child.start(spec));
  pid_t pid = child.pid();
  pair.second.reset();
  Channel c(loop, std::move(pair.first));
  std::optional<Status> ended;
  c.on_end([&](Status s) { ended = s; });
  ASSERT_TRUE(c.start());
  json answer;
  ASSERT_TRUE(c.request("ping", [&](Result<ChannelMessage> r) {
    ASSERT_TRUE(r);
    answer = r->body;
  }));
  ASSERT_TRUE(test::run_until(
      loop, [&] { return !answer.is_null(); }, std::chrono::seconds(20)));
  EXPECT_EQ(answer["pid"], pid);
  EXPECT_EQ(answer["got"], "ping");
  std::optional<Error> pending_error;
  ASSERT_TRUE(c.request("never", [&](Result<ChannelMessage> r) {
    if (!r) pending_error = r.error();
  }));
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(test::run_until(loop, [&] { return ended.has_value(); }));
  // The peer died with our last request unread in its buffer: the kernel reports a reset.
  if (!*ended) {
    EXPECT_EQ(ended->error().code(), ECONNRESET);
  }
  ASSERT_TRUE(pending_error.has_value());
  EXPECT_EQ(pending_error->code(), ECONNRESET);
}

}  // namespace
}  // namespace herd
