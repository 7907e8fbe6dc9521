// Response: how heads and bodies are framed, headers, and what happens to a dropped Response.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "herd/http/response.h"
#include "herd/http/server.h"
#include "http/date_cache.h"
#include "unit/http_test_client.h"

namespace herd::http {
namespace {

using test::HttpHarness;

const char* const kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(HttpResponse, StatusText) {
  EXPECT_EQ(status_text(200), "OK");
  EXPECT_EQ(status_text(404), "Not Found");
  EXPECT_EQ(status_text(431), "Request Header Fields Too Large");
  EXPECT_EQ(status_text(599), "Unknown");
}

TEST(HttpResponse, DateLineIsImfFixdate) {
  char buffer[40];
  EXPECT_EQ(detail::DateCache::format(784111777, buffer),
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
  EXPECT_EQ(detail::DateCache::format(0, buffer), "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
  detail::DateCache cache;
  EXPECT_TRUE(cache.line().starts_with("Date: "));
  EXPECT_TRUE(cache.line().ends_with(" GMT\r\n"));
}

TEST(HttpResponse, ExactBytesOfASmallAnswer) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) { res.end("Hello World!\n"); }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(c->wait_replies(1));
  // Status line, Date, Content-Length, blank line, body: nothing else.
  std::string raw = c->raw;
  std::size_t date = raw.find("Date: ");
  ASSERT_NE(date, std::string::npos);
  raw.erase(date, raw.find("\r\n", date) + 2 - date);
  EXPECT_EQ(raw, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello World!\n");
}

TEST(HttpResponse, HeadersSetReplacedAddedAndRejected) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.set_status(201);
    res.set_header("X-One", "a");
    res.set_header("x-one", "b");  // replaces, whatever the case
    res.add_header("Set-Cookie", "c=1");
    res.add_header("Set-Cookie", "d=2");
    res.set_header("X-Bad", "evil\r\nInjected: yes");  // ignored
    res.set_header("Bad Name", "v");                   // ignored
    res.set_header("Date", "Thu, 01 Jan 1970 00:00:00 GMT");
    res.end("x");
    res.set_header("X-Late", "ignored");
  }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(c->wait_replies(1));
  const auto& r = c->replies[0];
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.header("X-One"), "b");
  int cookies = 0;
  for (const auto& [k, v] : r.headers) cookies += k == "Set-Cookie";
  EXPECT_EQ(cookies, 2);
  EXPECT_EQ(c->raw.find("Injected"), std::string::npos);
  EXPECT_EQ(c->raw.find("Bad Name"), std::string::npos);
  EXPECT_EQ(c->raw.find("X-Late"), std::string::npos);
  EXPECT_EQ(r.header("Date"), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(c->raw.find("Date:", c->raw.find("Date:") + 1), std::string::npos);  // just one
}

TEST(HttpResponse, StreamedWithContentLengthIsNotChunked) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.set_header("Content-Length", "6");
    res.write("abc");
    res.end("def");
  }));
  auto c = h.connect();
  c->send(kGet);
  c->send(kGet);
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].body, "abcdef");
  EXPECT_FALSE(c->replies[0].header("Transfer-Encoding").has_value());
  EXPECT_TRUE(c->replies[1].keep_alive);
}

TEST(HttpResponse, WrongContentLengthClosesTheConnection) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.set_header("Content-Length", "10");
    res.end("short");
  }));
  auto c = h.connect();
  c->send(kGet);
  EXPECT_TRUE(c->wait_closed());
}

TEST(HttpResponse, NoBodyStatuses) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request& req, Response res) {
    res.set_status(req.target() == "/204" ? 204 : 304);
    res.end("dropped");
  }));
  auto c = h.connect();
  c->send("GET /204 HTTP/1.1\r\nHost: x\r\n\r\n");
  c->send("GET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].status, 204);
  EXPECT_EQ(c->replies[1].status, 304);
  EXPECT_EQ(c->raw.find("dropped"), std::string::npos);
  EXPECT_EQ(c->raw.find("Content-Length"), std::string::npos);
}

TEST(HttpResponse, HandlerCanCloseTheConnection) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.set_header("Connection", "close");
    res.end("bye");
  }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(c->wait_closed());
  ASSERT_EQ(c->replies.size(), 1u);
  EXPECT_EQ(c->replies[0].header("Connection"), "close");
}

TEST(HttpResponse, DroppedWithoutEndAnswers500) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) { res.set_header("X-Lost", "1"); }));
  auto c = h.connect();
  c->send(kGet);
  c->send(kGet);
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].status, 500);
  EXPECT_FALSE(c->replies[0].header("X-Lost").has_value());
  EXPECT_EQ(h.server->metrics().requests_by_class[5], 2u);
}

TEST(HttpResponse, DroppedInTheMiddleOfAStreamClosesTheConnection) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) { res.write("partial"); }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(c->wait_closed());
  EXPECT_TRUE(c->replies.empty());  // the chunked body never ended: no whole reply
  EXPECT_NE(c->raw.find("partial"), std::string::npos);
}

// A body streamed from a drain callback that owns the Response (as `herd serve` streams a file):
// when the client goes away, dropping the callback destroys the Response inside the server's
// own clean-up, which must not free the callback twice.
TEST(HttpResponse, ADrainCallbackOwningItsResponseIsDroppedOnceWhenTheClientLeaves) {
  struct Body : std::enable_shared_from_this<Body> {
    Response res;
    int pieces = 0;
    void pump() {
      while (res.write(std::string(64 * 1024, 'x'))) ++pieces;
      res.on_drain([self = shared_from_this()] { self->pump(); });
    }
  };
  HttpHarness h;
  std::weak_ptr<Body> seen;
  ASSERT_TRUE(h.start([&seen](const Request&, Response res) {
    auto body = std::make_shared<Body>();
    body->res = std::move(res);
    seen = body;
    body->pump();
  }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(test::run_until(h.loop, [&] { return c->raw.size() > 256 * 1024; }));
  c->close();
  ASSERT_TRUE(test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 0; }));
  EXPECT_TRUE(seen.expired());  // the body and its Response went with the connection
}

TEST(HttpResponse, EndTwiceAndWriteAfterEndAreIgnored) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.end("once");
    res.end("twice");
    EXPECT_FALSE(res.write("more"));
    EXPECT_TRUE(res.finished());
    EXPECT_TRUE(res.connected());
  }));
  auto c = h.connect();
  c->send(kGet);
  c->send(kGet);
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].body, "once");
  EXPECT_EQ(c->raw.find("twice"), std::string::npos);
}

TEST(HttpResponse, MovedResponsesAndEmptyHandles) {
  Response empty;
  EXPECT_TRUE(empty.finished());
  EXPECT_FALSE(empty.connected());
  EXPECT_FALSE(empty.write("x"));
  empty.end();
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    Response moved = std::move(res);
    Response target;
    target = std::move(moved);
    target.end("moved");
  }));
  auto c = h.connect();
  c->send(kGet);
  ASSERT_TRUE(c->wait_replies(1));
  EXPECT_EQ(c->replies[0].body, "moved");
}

}  // namespace
}  // namespace herd::http
