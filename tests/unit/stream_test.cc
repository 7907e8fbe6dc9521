#include "herd/net/stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"
#include "support/wait.h"
#include "unit/stream_test_util.h"

namespace herd {
namespace {

using test::run_until;

TEST(StreamTest, WriteReachesThePeerAndItsCallbackIsDeferred) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  Stream b(loop, std::move(y));
  Collector got;
  b.read_start(got.callback());
  std::optional<Status> status;
  EXPECT_TRUE(a.write("hello", [&](Status s) { status = s; }));
  // Never from inside write(): the bytes went out, but the callback waits for the loop.
  EXPECT_FALSE(status.has_value());
  EXPECT_EQ(a.write_queue_size(), 0u);
  ASSERT_TRUE(run_until(loop, [&] { return status.has_value() && got.data == "hello"; }));
  EXPECT_TRUE(status->has_value());
}

TEST(StreamTest, WriteCallbacksRunInOrder) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  Stream b(loop, std::move(y));
  Collector got;
  b.read_start(got.callback());
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    a.write(std::string(i * 1000, 'a' + static_cast<char>(i)), [&order, i](Status s) {
      EXPECT_TRUE(s.has_value());
      order.push_back(i);
    });
  }
  ASSERT_TRUE(run_until(loop, [&] { return order.size() == 5; }));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  ASSERT_TRUE(run_until(loop, [&] { return got.data.size() == 10'000; }));
}

TEST(StreamTest, EndOfStreamIsAnEmptyChunkAndStopsReading) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream b(loop, std::move(y));
  Collector got;
  b.read_start(got.callback());
  ASSERT_EQ(::write(x.get(), "bye", 3), 3);
  x.reset();
  ASSERT_TRUE(run_until(loop, [&] { return got.eof; }));
  EXPECT_EQ(got.data, "bye");
  EXPECT_FALSE(b.is_reading());
  EXPECT_FALSE(b.is_active());
  // Nothing keeps the loop alive any more.
  EXPECT_FALSE(loop.run());
}

TEST(StreamTest, ReadStopHoldsDataUntilReadStart) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream b(loop, std::move(y));
  Collector got;
  b.read_start(got.callback());
  b.read_stop();
  ASSERT_EQ(::write(x.get(), "held", 4), 4);
  ASSERT_TRUE(poll_for(b.fd(), POLLIN));  // the data is there to read
  for (int i = 0; i < 5; ++i) loop.run(RunMode::kNoWait);
  EXPECT_EQ(got.data, "");
  b.read_start(got.callback());
  ASSERT_TRUE(run_until(loop, [&] { return got.data == "held"; }));
}

TEST(StreamTest, ReadCallbackMayReplaceItself) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream b(loop, std::move(y));
  std::string first, second;
  b.read_start([&](Result<std::string_view> chunk) {
    ASSERT_TRUE(chunk.has_value());
    first.append(*chunk);
    b.read_start([&](Result<std::string_view> c) {
      ASSERT_TRUE(c.has_value());
      second.append(*c);
    });
  });
  ASSERT_EQ(::write(x.get(), "one", 3), 3);
  ASSERT_TRUE(run_until(loop, [&] { return !first.empty(); }));
  ASSERT_EQ(::write(x.get(), "two", 3), 3);
  ASSERT_TRUE(run_until(loop, [&] { return !second.empty(); }));
  EXPECT_EQ(first, "one");
  EXPECT_EQ(second, "two");
}

TEST(StreamTest, ReadStartWithoutDescriptorReportsENOTCONN) {
  EventLoop loop;
  Stream s(loop);
  std::optional<Error> error;
  s.read_start([&](Result<std::string_view> chunk) {
    ASSERT_FALSE(chunk.has_value());
    error = chunk.error();
  });
  EXPECT_FALSE(error.has_value());  // from the loop, not from inside read_start()
  ASSERT_TRUE(run_until(loop, [&] { return error.has_value(); }));
  EXPECT_EQ(error->code(), ENOTCONN);
}

// Required: shutdown() sends FIN only after every queued byte, and the peer sees all of them
// and then the end of the stream; the other direction stays open.
TEST(StreamTest, ShutdownDeliversEofToThePeerAfterAllData) {
  EventLoop loop;
  auto [c, s] = tcp_pair();
  Stream client(loop, std::move(c));
  Stream server(loop, std::move(s));
  const std::string payload = pattern(4 << 20, 7);  // more than the socket buffers hold

  std::vector<std::string> events;
  client.write(payload.substr(0, 1 << 20), [&](Status st) {
    EXPECT_TRUE(st.has_value());
    events.push_back("write1");
  });
  client.write(payload.substr(1 << 20), [&](Status st) {
    EXPECT_TRUE(st.has_value());
    events.push_back("write2");
  });
  EXPECT_GT(client.write_queue_size(), 0u);  // shutdown must wait for these
  client.shutdown([&](Status st) {
    EXPECT_TRUE(st.has_value()) << st.error().message();
    events.push_back("shutdown");
  });

  std::size_t bytes_at_eof = 0;
  Collector got;
  server.read_start([&](Result<std::string_view> chunk) {
    ASSERT_TRUE(chunk.has_value()) << chunk.error().message();
    if (chunk->empty()) {
      bytes_at_eof = got.data.size();
      got.eof = true;
      // Half-close: the server can still answer.
      server.write("answer");
      return;
    }
    got.data.append(*chunk);
  });
  Collector answer;
  client.read_start(answer.callback());

  ASSERT_TRUE(run_until(loop, [&] { return got.eof && answer.data == "answer"; }));
  EXPECT_EQ(bytes_at_eof, payload.size());
  EXPECT_TRUE(got.data == payload);
  ASSERT_TRUE(run_until(loop, [&] { return events.size() == 3; }));
  EXPECT_EQ(events, (std::vector<std::string>{"write1", "write2", "shutdown"}));
}

TEST(StreamTest, WriteAfterShutdownFailsWithEPIPE) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  a.shutdown();
  std::optional<Status> status;
  EXPECT_FALSE(a.write("late", [&](Status s) { status = s; }));
  ASSERT_TRUE(run_until(loop, [&] { return status.has_value(); }));
  ASSERT_FALSE(status->has_value());
  EXPECT_EQ(status->error().code(), EPIPE);
  std::optional<Status> again;
  a.shutdown([&](Status s) { again = s; });
  ASSERT_TRUE(run_until(loop, [&] { return again.has_value(); }));
  EXPECT_FALSE(again->has_value());
}

// Required: close() with queued writes fails their callbacks with ECANCELED, in order, before
// the close callback, and leaves nothing that keeps the loop alive.
TEST(StreamTest, CloseWithQueuedWritesGivesECANCELED) {
  EventLoop loop;
  auto [x, y] = unix_pair();  // nobody reads y: the writes stay queued
  Stream a(loop, std::move(x));
  std::vector<std::string> events;
  bool first_returned = a.write(std::string(8 << 20, 'q'), [&](Status s) {
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), ECANCELED);
    events.push_back("write1");
  });
  EXPECT_FALSE(first_returned);
  a.write("tail", [&](Status s) {
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), ECANCELED);
    events.push_back("write2");
  });
  a.shutdown([&](Status s) {
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), ECANCELED);
    events.push_back("shutdown");
  });
  ASSERT_GT(a.write_queue_size(), 0u);
  EXPECT_GT(loop.active_requests(), 0u);
  loop.run(RunMode::kNoWait);  // an iteration with the writes queued
  EXPECT_TRUE(events.empty());

  a.close([&] { events.push_back("close"); });
  EXPECT_TRUE(events.empty());  // never from inside close()
  EXPECT_EQ(a.fd(), -1);
  EXPECT_EQ(a.write_queue_size(), 0u);
  std::optional<Status> after;
  EXPECT_FALSE(a.write("after close", [&](Status s) { after = s; }));
  loop.run();
  EXPECT_EQ(events, (std::vector<std::string>{"write1", "write2", "shutdown", "close"}));
  ASSERT_TRUE(after.has_value());
  ASSERT_FALSE(after->has_value());
  EXPECT_EQ(after->error().code(), EBADF);
  EXPECT_EQ(loop.active_requests(), 0u);
  EXPECT_EQ(loop.active_handles(), 0u);
}

TEST(StreamTest, CompletedWriteCallbacksStillRunWhenClosedBeforeThePendingPhase) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  std::vector<std::string> events;
  a.write("sent", [&](Status s) {
    EXPECT_TRUE(s.has_value());  // it was sent: success, even though close() came first
    events.push_back("write");
  });
  a.close([&] { events.push_back("close"); });
  loop.run();
  EXPECT_EQ(events, (std::vector<std::string>{"write", "close"}));
  char buf[8];
  EXPECT_EQ(::read(y.get(), buf, sizeof(buf)), 4);
}

TEST(StreamTest, DestroyingAStreamDropsItsCallbacksAndRequests) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  bool ran = false;
  {
    Stream a(loop, std::move(x));
    a.write(std::string(8 << 20, 'd'), [&](Status) { ran = true; });
    a.write("more", [&](Status) { ran = true; });
    EXPECT_GT(loop.active_requests(), 0u);
  }
  EXPECT_EQ(loop.active_requests(), 0u);
  EXPECT_EQ(loop.active_handles(), 0u);
  loop.run();
  EXPECT_FALSE(ran);
}

TEST(StreamTest, HighWaterMarkAndDrain) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  Stream b(loop, std::move(y));
  a.set_high_water_mark(1024);
  int drains = 0;
  a.on_drain([&] { ++drains; });
  // The socket takes a small write at once: nothing stays queued.
  EXPECT_TRUE(a.write(std::string(100, 's')));
  EXPECT_EQ(a.write_queue_size(), 0u);
  // More than the socket buffer: the rest is queued, above the mark.
  EXPECT_FALSE(a.write(std::string(4 << 20, 'l')));
  EXPECT_GE(a.write_queue_size(), 1024u);
  EXPECT_FALSE(a.write("x"));  // still above the mark
  Collector got;
  b.read_start(got.callback());
  ASSERT_TRUE(run_until(loop, [&] { return drains == 1; }));
  EXPECT_EQ(a.write_queue_size(), 0u);
  ASSERT_TRUE(run_until(loop, [&] { return got.data.size() == 100 + (4u << 20) + 1; }));
  // No new drain without a write() that returned false.
  EXPECT_TRUE(a.write("y"));
  ASSERT_TRUE(run_until(loop, [&] { return got.data.size() == 100 + (4u << 20) + 2; }));
  EXPECT_EQ(drains, 1);
}

TEST(StreamTest, WriteToAClosedPeerFailsAndLaterWritesFailToo) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  y.reset();
  std::optional<Status> first, second;
  a.write("nobody", [&](Status s) { first = s; });
  a.write("listens", [&](Status s) { second = s; });
  ASSERT_TRUE(run_until(loop, [&] { return first && second; }));
  ASSERT_FALSE(first->has_value());
  EXPECT_EQ(first->error().code(), EPIPE);
  ASSERT_FALSE(second->has_value());
  EXPECT_EQ(second->error().code(), EPIPE);
}

TEST(StreamTest, UnreferencedStreamStillFinishesItsWrites) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  a.unref();
  bool done = false;
  a.write("bytes", [&](Status s) {
    EXPECT_TRUE(s.has_value());
    done = true;
  });
  // The write is a request of the loop until its callback has run, as in libuv.
  loop.run();
  EXPECT_TRUE(done);
}

TEST(StreamTest, ReadingKeepsTheLoopAliveUnlessUnreferenced) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream b(loop, std::move(y));
  EXPECT_EQ(loop.active_handles(), 0u);
  b.read_start([](Result<std::string_view>) {});
  // The stream counts once; its internal watcher does not.
  EXPECT_EQ(loop.active_handles(), 1u);
  b.unref();
  EXPECT_EQ(loop.active_handles(), 0u);
  EXPECT_FALSE(loop.run());
  b.ref();
  b.read_stop();
  EXPECT_EQ(loop.active_handles(), 0u);
}

TEST(StreamTest, CloseFromTheReadCallback) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream b(loop, std::move(y));
  int chunks = 0;
  bool closed = false;
  b.read_start([&](Result<std::string_view>) {
    ++chunks;
    b.close([&] { closed = true; });
  });
  ASSERT_EQ(::write(x.get(), "a", 1), 1);
  loop.run();
  EXPECT_EQ(chunks, 1);
  EXPECT_TRUE(closed);
}

TEST(StreamTest, PipeEnds) {
  EventLoop loop;
  auto pipe = Fd::pipe(O_NONBLOCK);
  ASSERT_TRUE(pipe.has_value());
  Stream reader(loop, std::move(pipe->first));
  auto writer = std::make_unique<Stream>(loop, std::move(pipe->second));
  Collector got;
  reader.read_start(got.callback());
  bool written = false;
  writer->write("through a pipe", [&](Status s) {
    EXPECT_TRUE(s.has_value());
    written = true;
  });
  ASSERT_TRUE(run_until(loop, [&] { return written; }));
  writer.reset();  // closes the write end
  ASSERT_TRUE(run_until(loop, [&] { return got.eof; }));
  EXPECT_EQ(got.data, "through a pipe");
}

// --- connect -------------------------------------------------------------------------------

TEST(StreamTest, ConnectToAClosedPortGivesECONNREFUSED) {
  EventLoop loop;
  // A port that is bound but not listening stays refused for the whole test: nobody else can
  // take it meanwhile.
  auto holder = Fd::socket(AF_INET, SOCK_STREAM);
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(holder && any);
  ASSERT_EQ(::bind(holder->get(), any->data(), any->size()), 0);
  auto closed = Address::local_of(holder->get());
  ASSERT_TRUE(closed.has_value());

  Stream s(loop);
  std::optional<Status> outcome;
  std::optional<Status> queued_write;
  auto started = s.connect(*closed, [&](Status st) { outcome = st; });
  ASSERT_TRUE(started.has_value()) << started.error().message();
  s.write("never sent", [&](Status st) { queued_write = st; });
  ASSERT_TRUE(run_until(loop, [&] { return outcome && queued_write; }));
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error().code(), ECONNREFUSED);
  EXPECT_NE(outcome->error().message().find("connect " + closed->to_string()), std::string::npos)
      << outcome->error().message();
  EXPECT_FALSE(queued_write->has_value());
  s.close();
  loop.run();
  EXPECT_EQ(loop.active_requests(), 0u);
}

TEST(StreamTest, ConnectSendsWritesQueuedWhileConnecting) {
  EventLoop loop;
  Listener listener(loop);
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(any.has_value());
  std::unique_ptr<Stream> server;
  Collector got;
  ASSERT_TRUE(listener
                  .listen(*any,
                          [&](Fd fd) {
                            server = std::make_unique<Stream>(loop, std::move(fd));
                            server->read_start(got.callback());
                          })
                  .has_value());
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());

  Stream client(loop);
  std::vector<std::string> events;
  ASSERT_TRUE(client
                  .connect(*bound,
                           [&](Status st) {
                             EXPECT_TRUE(st.has_value());
                             events.push_back("connect");
                           })
                  .has_value());
  EXPECT_EQ(client.connect(*bound, [](Status) {}).error().code(), EINVAL);
  client.write("early", [&](Status st) {
    EXPECT_TRUE(st.has_value());
    events.push_back("write");
  });
  client.shutdown();
  ASSERT_TRUE(run_until(loop, [&] { return got.eof; }));
  EXPECT_EQ(got.data, "early");
  ASSERT_TRUE(run_until(loop, [&] { return events.size() == 2; }));
  EXPECT_EQ(events, (std::vector<std::string>{"connect", "write"}));
}

TEST(StreamTest, ConnectToAMissingUnixSocketFailsAtOnce) {
  EventLoop loop;
  auto path = Address::parse("unix:/nonexistent/herd-test.sock");
  ASSERT_TRUE(path.has_value());
  Stream s(loop);
  bool called = false;
  auto started = s.connect(*path, [&](Status) { called = true; });
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code(), ENOENT);
  EXPECT_NE(started.error().message().find("unix:/nonexistent/herd-test.sock"), std::string::npos);
  loop.run();
  EXPECT_FALSE(called);
}

TEST(StreamTest, CloseWhileConnectingGivesECANCELED) {
  EventLoop loop;
  // A listener that never accepts still completes the TCP handshake; the close comes first.
  Listener listener(loop);
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(listener.listen(*any, [](Fd) {}).has_value());
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  Stream s(loop);
  std::optional<Status> outcome;
  ASSERT_TRUE(s.connect(*bound, [&](Status st) { outcome = st; }).has_value());
  s.close();
  listener.close();
  loop.run();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error().code(), ECANCELED);
}

}  // namespace
}  // namespace herd
