// The net layer under load, on one loop over loopback: many concurrent connections, and one
// connection whose writer outruns its reader by far.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"
#include "herd/net/stream.h"
#include "support/wait.h"
#include "unit/stream_test_util.h"

namespace herd {
namespace {

using test::run_until;

// Lets this process open `needed` descriptors if the hard limit allows; false if it does not.
bool ensure_fd_limit(rlim_t needed) {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) return false;
  if (limit.rlim_cur >= needed) return true;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) < 0) return false;
  return limit.rlim_cur >= needed;
}

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
constexpr std::uint64_t kFnvBasis = 14695981039346656037ull;

// An echo server: every connection sends back what it reads, and shuts down after EOF.
class EchoServer {
 public:
  explicit EchoServer(EventLoop& loop) : loop_(loop), listener_(loop) {}

  Status listen(const Address& address) {
    ListenOptions options;
    options.backlog = 4096;  // the kernel caps it at net.core.somaxconn
    return listener_.listen(
        address, [this](Fd fd) { on_connection(std::move(fd)); }, options);
  }
  Result<Address> address() const { return listener_.local_address(); }
  std::size_t accepted() const { return connections_.size(); }
  std::size_t closed() const { return closed_; }

  void close_all() {
    listener_.close();
    for (auto& c : connections_) {
      if (!c->is_closing()) c->close([this] { ++closed_; });
    }
  }

 private:
  void on_connection(Fd fd) {
    connections_.push_back(std::make_unique<Stream>(loop_, std::move(fd)));
    Stream* s = connections_.back().get();
    s->read_start([this, s](Result<std::string_view> chunk) {
      if (!chunk) {
        ADD_FAILURE() << "server read: " << chunk.error().message();
        s->close([this] { ++closed_; });
        return;
      }
      if (chunk->empty()) {
        // After the echo of everything read so far, half-close; then done with it.
        s->shutdown([this, s](Status st) {
          EXPECT_TRUE(st.has_value()) << st.error().message();
          s->close([this] { ++closed_; });
        });
        return;
      }
      s->write(*chunk);
    });
  }

  EventLoop& loop_;
  Listener listener_;
  std::vector<std::unique_ptr<Stream>> connections_;
  std::size_t closed_ = 0;
};

// Required: 1,000 concurrent loopback connections on one loop, each with its own payload, all
// echoed back intact.
TEST(EchoTest, ThousandConcurrentConnectionsEcho) {
  constexpr int kClients = 1000;
  ASSERT_TRUE(ensure_fd_limit(2 * kClients + 64)) << "RLIMIT_NOFILE too low for this test";
  EventLoop loop;
  EchoServer server(loop);
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(any.has_value());
  auto listening = server.listen(*any);
  ASSERT_TRUE(listening.has_value()) << listening.error().message();
  auto address = server.address();
  ASSERT_TRUE(address.has_value());

  struct Client {
    std::unique_ptr<Stream> stream;
    std::string payload;
    std::string received;
    bool done = false;
    bool closed = false;
  };
  std::vector<Client> clients(kClients);
  int done = 0;
  int failures = 0;
  for (int i = 0; i < kClients; ++i) {
    Client& c = clients[static_cast<std::size_t>(i)];
    // Distinct content and sizes from a few bytes to a few socket-buffer-sized writes.
    c.payload =
        "client " + std::to_string(i) + ": " +
        pattern(static_cast<std::size_t>((i * 7919) % 48'000), static_cast<std::uint32_t>(i));
    c.stream = std::make_unique<Stream>(loop);
    Stream* s = c.stream.get();
    auto started = s->connect(*address, [&c, s, &failures](Status st) {
      if (!st) {
        ++failures;
        ADD_FAILURE() << "connect: " << st.error().message();
        return;
      }
      s->write(c.payload);
      s->shutdown();
    });
    ASSERT_TRUE(started.has_value()) << started.error().message();
    s->read_start([&c, s, &done, &failures](Result<std::string_view> chunk) {
      if (!chunk) {
        ++failures;
        ADD_FAILURE() << "client read: " << chunk.error().message();
        return;
      }
      if (!chunk->empty()) {
        c.received.append(*chunk);
        return;
      }
      c.done = true;
      ++done;
      s->close([&c] { c.closed = true; });
    });
  }

  ASSERT_TRUE(run_until(
      loop, [&] { return done + failures == kClients; }, std::chrono::seconds(60)))
      << done << " of " << kClients << " done; " << server.accepted() << " accepted";
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(server.accepted(), static_cast<std::size_t>(kClients));
  int mismatches = 0;
  for (int i = 0; i < kClients; ++i) {
    const Client& c = clients[static_cast<std::size_t>(i)];
    if (c.received != c.payload && ++mismatches <= 5) {
      ADD_FAILURE() << "client " << i << ": sent " << c.payload.size() << " bytes, got back "
                    << c.received.size();
    }
  }
  EXPECT_EQ(mismatches, 0);

  ASSERT_TRUE(run_until(loop, [&] { return server.closed() == server.accepted(); }));
  server.close_all();
  loop.run();
  for (const Client& c : clients) EXPECT_TRUE(c.closed);
  EXPECT_EQ(loop.active_requests(), 0u);
}

// Required: one write far larger than the socket buffers completes under backpressure. write()
// returns false, the reader pauses and resumes on timers, the drain callback fires once the
// queue is empty, and every byte arrives intact and in order.
TEST(EchoTest, LargeWriteCompletesUnderBackpressure) {
  constexpr std::size_t kSize = 32u << 20;
  constexpr std::size_t kPauseEvery = 1u << 20;
  EventLoop loop;
  Listener listener(loop);
  std::unique_ptr<Stream> reader;
  Timer resume(loop);

  std::size_t received = 0;
  std::size_t since_pause = 0;
  std::uint64_t checksum = kFnvBasis;
  int pauses = 0;
  bool eof = false;
  std::function<void(Result<std::string_view>)> on_read = [&](Result<std::string_view> chunk) {
    ASSERT_TRUE(chunk.has_value()) << chunk.error().message();
    if (chunk->empty()) {
      eof = true;
      reader->close();
      return;
    }
    received += chunk->size();
    since_pause += chunk->size();
    checksum = fnv1a(checksum, *chunk);
    if (since_pause >= kPauseEvery) {
      // A slow consumer: stop reading for a moment, so the writer's queue backs up.
      since_pause = 0;
      ++pauses;
      reader->read_stop();
      resume.start([&] { reader->read_start(on_read); }, 1);
    }
  };
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(any.has_value());
  ASSERT_TRUE(listener
                  .listen(*any,
                          [&](Fd fd) {
                            reader = std::make_unique<Stream>(loop, std::move(fd));
                            reader->read_start(on_read);
                            listener.close();
                          })
                  .has_value());
  auto address = listener.local_address();
  ASSERT_TRUE(address.has_value());

  std::string data = pattern(kSize, 42);
  const std::uint64_t expected = fnv1a(kFnvBasis, data);
  Stream writer(loop);
  std::vector<std::string> events;
  std::optional<bool> write_returned;
  std::size_t queued_after_write = 0;
  writer.on_drain([&] {
    events.push_back("drain");
    // Everything was written: the end of the stream follows the data.
    writer.shutdown([&](Status ss) {
      EXPECT_TRUE(ss.has_value());
      events.push_back("shutdown");
    });
  });
  ASSERT_TRUE(writer
                  .connect(*address,
                           [&](Status st) {
                             ASSERT_TRUE(st.has_value()) << st.error().message();
                             write_returned = writer.write(std::move(data), [&](Status ws) {
                               EXPECT_TRUE(ws.has_value()) << ws.error().message();
                               events.push_back("write");
                             });
                             queued_after_write = writer.write_queue_size();
                           })
                  .has_value());

  ASSERT_TRUE(run_until(
      loop, [&] { return eof && events.size() == 3; }, std::chrono::seconds(60)))
      << received << " of " << kSize << " bytes received";
  ASSERT_TRUE(write_returned.has_value());
  EXPECT_FALSE(*write_returned) << "a 32 MiB write must exceed the high-water mark";
  EXPECT_GT(queued_after_write, 64u * 1024);
  EXPECT_EQ(events, (std::vector<std::string>{"write", "drain", "shutdown"}));
  EXPECT_EQ(received, kSize);
  EXPECT_EQ(checksum, expected);
  EXPECT_GE(pauses, 16);
  writer.close();
  resume.stop();
  loop.run();
  EXPECT_EQ(loop.active_requests(), 0u);
}

// Node's producer pattern (the one bench/loop_bench_tcp.cc measures): write chunks until
// write() says the queue is full, continue on drain.
TEST(EchoTest, ProducerPausesOnFalseAndResumesOnDrain) {
  constexpr std::size_t kChunk = 64 * 1024;
  constexpr std::size_t kChunks = 256;  // 16 MiB
  EventLoop loop;
  Listener listener(loop);
  std::unique_ptr<Stream> reader;
  std::size_t received = 0;
  std::uint64_t checksum = kFnvBasis;
  bool eof = false;
  auto any = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(any.has_value());
  ASSERT_TRUE(listener
                  .listen(*any,
                          [&](Fd fd) {
                            reader = std::make_unique<Stream>(loop, std::move(fd));
                            reader->read_start([&](Result<std::string_view> chunk) {
                              ASSERT_TRUE(chunk.has_value());
                              if (chunk->empty()) {
                                eof = true;
                                reader->close();
                                return;
                              }
                              received += chunk->size();
                              checksum = fnv1a(checksum, *chunk);
                            });
                            listener.close();
                          })
                  .has_value());
  auto address = listener.local_address();
  ASSERT_TRUE(address.has_value());

  std::vector<std::string> chunks;
  std::uint64_t expected = kFnvBasis;
  for (std::size_t i = 0; i < kChunks; ++i) {
    chunks.push_back(pattern(kChunk, static_cast<std::uint32_t>(i)));
    expected = fnv1a(expected, chunks.back());
  }
  Stream writer(loop);
  std::size_t next = 0;
  int falses = 0;
  int drains = 0;
  auto pump = [&] {
    while (next < kChunks) {
      if (!writer.write(chunks[next++])) {
        ++falses;
        return;
      }
    }
    writer.shutdown();
  };
  writer.on_drain([&] {
    ++drains;
    pump();
  });
  ASSERT_TRUE(writer
                  .connect(*address,
                           [&](Status st) {
                             ASSERT_TRUE(st.has_value());
                             pump();
                           })
                  .has_value());
  ASSERT_TRUE(run_until(
      loop, [&] { return eof; }, std::chrono::seconds(60)));
  EXPECT_EQ(received, kChunk * kChunks);
  EXPECT_EQ(checksum, expected);
  EXPECT_GT(falses, 0);
  EXPECT_EQ(drains, falses);
  writer.close();
  loop.run();
}

}  // namespace
}  // namespace herd
