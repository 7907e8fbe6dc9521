// The HTTP server under load on one loop: 10,000 keep-alive requests on one connection, long
// pipelines, many connections, and backpressure from clients that do not read.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "herd/http/server.h"
#include "herd/loop/timer.h"
#include "unit/http_test_client.h"

namespace herd::http {
namespace {

using test::HttpHarness;
using test::HttpTestClient;

TEST(HttpLoad, TenThousandSequentialKeepAliveRequestsOnOneConnection) {
  HttpHarness h;
  std::uint64_t handled = 0;
  ASSERT_TRUE(h.start([&](const Request& req, Response res) {
    ++handled;
    res.end(req.target());
  }));
  auto c = h.connect();
  constexpr int kRequests = 10'000;
  for (int i = 0; i < kRequests; ++i) {
    std::string target = "/r" + std::to_string(i);
    c->send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c->wait_replies(static_cast<std::size_t>(i) + 1)) << "request " << i;
    ASSERT_EQ(c->replies.back().status, 200);
    ASSERT_EQ(c->replies.back().body, target);
    ASSERT_TRUE(c->replies.back().keep_alive);
  }
  EXPECT_EQ(handled, static_cast<std::uint64_t>(kRequests));
  EXPECT_FALSE(c->closed);
  EXPECT_EQ(h.server->metrics().total_connections, 1u);
  EXPECT_EQ(h.server->metrics().requests_by_class[2], static_cast<std::uint64_t>(kRequests));
}

TEST(HttpLoad, ALongPipelineAnsweredLaterKeepsItsOrder) {
  HttpHarness h;
  std::vector<std::pair<std::string, Response>> held;
  Timer answer(h.loop);
  // Answers come from a timer, newest first, so that the queue and the pause at 16 pending
  // answers both get used.
  answer.start(
      [&] {
        while (!held.empty()) {
          auto [target, res] = std::move(held.back());
          held.pop_back();
          res.end(target);
        }
      },
      1, 1);
  ASSERT_TRUE(h.start([&](const Request& req, Response res) {
    held.emplace_back(std::string(req.target()), std::move(res));
  }));
  auto c = h.connect();
  constexpr int kRequests = 1000;
  std::string all;
  for (int i = 0; i < kRequests; ++i)
    all += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  c->send(all);
  ASSERT_TRUE(c->wait_replies(kRequests));
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(c->replies[i].body, "/p" + std::to_string(i));
  answer.stop();
}

TEST(HttpLoad, ManyConnectionsAtOnce) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request& req, Response res) { res.end(req.target()); }));
  std::vector<std::unique_ptr<HttpTestClient>> clients;
  constexpr int kClients = 200, kEach = 5;
  for (int i = 0; i < kClients; ++i) clients.push_back(h.connect());
  for (int round = 0; round < kEach; ++round) {
    for (int i = 0; i < kClients; ++i) {
      clients[i]->send("GET /c" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    }
  }
  ASSERT_TRUE(test::run_until(h.loop, [&] {
    for (auto& c : clients) {
      if (c->replies.size() < kEach) return false;
    }
    return true;
  }));
  for (int i = 0; i < kClients; ++i) {
    for (const auto& r : clients[i]->replies) ASSERT_EQ(r.body, "/c" + std::to_string(i));
  }
  EXPECT_EQ(h.server->metrics().active_connections, static_cast<std::uint64_t>(kClients));
}

// Runs the loop until `value()` has not changed for `quiet` (the server has stopped making
// progress), with a deadline. A server that never stops fails; a slow machine only waits longer.
bool wait_stalled(EventLoop& loop, const std::function<std::uint64_t()>& value,
                  std::chrono::milliseconds quiet = std::chrono::milliseconds(150)) {
  std::uint64_t last = value();
  auto since = std::chrono::steady_clock::now();
  return test::run_until(
      loop,
      [&] {
        auto now = std::chrono::steady_clock::now();
        if (value() != last) {
          last = value();
          since = now;
        }
        return now - since >= quiet;
      },
      std::chrono::seconds(20));
}

TEST(HttpLoad, AStreamingHandlerFollowsTheSlowReader) {
  HttpHarness h;
  constexpr std::size_t kChunk = 64 * 1024, kTotal = 32 * 1024 * 1024;
  std::size_t produced = 0;
  int false_returns = 0, drains = 0;
  Response stream;
  std::function<void()> pump = [&] {
    while (produced < kTotal) {
      std::string chunk(kChunk, static_cast<char>('a' + (produced / kChunk) % 26));
      produced += kChunk;
      if (!stream.write(chunk)) {
        ++false_returns;
        stream.on_drain([&] {
          ++drains;
          pump();
        });
        return;
      }
    }
    stream.end();
  };
  ASSERT_TRUE(h.start([&](const Request&, Response res) {
    stream = std::move(res);
    pump();
  }));
  auto c = h.connect();
  c->read_stop();  // the client reads nothing yet
  c->send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(test::run_until(h.loop, [&] { return false_returns > 0; }));
  // While the client does not read, production stops once the kernel's buffers are full: they
  // and one high-water mark hold the difference, not an ever-growing queue.
  ASSERT_TRUE(wait_stalled(h.loop, [&] { return produced; }));
  EXPECT_LT(produced, kTotal);
  c->stream().read_start([&](Result<std::string_view> chunk) {
    if (chunk && !chunk->empty()) c->raw.append(*chunk);
  });
  ASSERT_TRUE(test::run_until(
      h.loop, [&] { return stream.finished(); }, std::chrono::seconds(30)));
  EXPECT_GT(drains, 0);
  ASSERT_TRUE(test::run_until(
      h.loop, [&] { return c->raw.size() > kTotal; }, std::chrono::seconds(30)));
  EXPECT_TRUE(c->raw.ends_with("0\r\n\r\n"));
}

TEST(HttpLoad, APipeliningClientThatDoesNotReadIsNotBufferedWithoutBound) {
  HttpHarness h;
  const std::string big(256 * 1024, 'x');
  std::uint64_t handled = 0;
  ASSERT_TRUE(h.start([&](const Request&, Response res) {
    ++handled;
    res.end(big);
  }));
  auto c = h.connect();
  c->read_stop();
  constexpr int kRequests = 400;  // 100 MB of answers if nothing held the server back
  std::string all;
  const std::string pad(1024, 'p');
  for (int i = 0; i < kRequests; ++i)
    all += "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + pad + "\r\n\r\n";
  c->send(all);
  ASSERT_TRUE(test::run_until(h.loop, [&] { return handled > 0; }));
  ASSERT_TRUE(wait_stalled(h.loop, [&] { return handled; }));
  EXPECT_LT(handled, static_cast<std::uint64_t>(kRequests))
      << "the server kept answering a client that does not read";
  EXPECT_LT(h.server->metrics().bytes_in, all.size());  // it stopped reading, too
  // Reading again lets everything through, in order and whole.
  std::size_t received = 0;
  c->stream().read_start([&](Result<std::string_view> chunk) {
    if (chunk) received += chunk->size();
  });
  ASSERT_TRUE(test::run_until(
      h.loop, [&] { return handled == kRequests; }, std::chrono::seconds(60)));
  EXPECT_TRUE(test::run_until(
      h.loop, [&] { return received >= kRequests * big.size(); }, std::chrono::seconds(60)));
}

}  // namespace
}  // namespace herd::http
