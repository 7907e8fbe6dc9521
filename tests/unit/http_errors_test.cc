// The answers the server gives by itself (400, 408, 413, 414, 417, 431, 503, 505), the edge
// cases recorded against Node 20 and nginx (/work/shared/conformance/http-edge-cases.md), and
// the timeouts, with short configured values.
#include <gtest/gtest.h>

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

const char* const kCheck = "GET /check HTTP/1.1\r\nHost: x\r\n\r\n";

Handler echo_handler() {
  return [](const Request& req, Response res) { res.end(std::string(req.target())); };
}

// After the answers it expects: either the server closed the connection, or the connection
// still serves a request (that is how "keeps open" is checked, without waiting for nothing).
void expect_open_or_closed(HttpTestClient& c, std::size_t replies, bool closes) {
  if (closes) {
    EXPECT_TRUE(c.wait_closed()) << c.raw;
    EXPECT_EQ(c.replies.size(), replies) << c.raw;
    if (!c.replies.empty()) {
      EXPECT_EQ(c.replies.back().header("Connection"), "close");
    }
  } else {
    c.send(kCheck);
    ASSERT_TRUE(c.wait_replies(replies + 1)) << c.raw;
    EXPECT_EQ(c.replies.back().body, "/check");
    EXPECT_FALSE(c.closed);
  }
}

struct ErrorCase {
  const char* name;
  std::function<void(ServerOptions&)> configure;
  std::string request;
  int status;
  bool closes;
  bool server_full = false;  // another client holds the only connection allowed
};

TEST(HttpErrors, EachErrorCode) {
  const std::string big(2000, 'a');
  const std::vector<ErrorCase> cases = {
      {"400 malformed", {}, "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
      {"400 smuggling: Content-Length and Transfer-Encoding",
       {},
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
       400,
       true},
      {"408 header block too slow", [](ServerOptions& o) { o.headers_timeout_ms = 30; },
       "GET / HTTP/1.1\r\nHost: x\r\n", 408, true},
      {"408 body too slow", [](ServerOptions& o) { o.request_timeout_ms = 30; },
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 408, true},
      {"413 by Content-Length", [](ServerOptions& o) { o.max_body_bytes = 8; },
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n", 413, true},
      {"413 chunked", [](ServerOptions& o) { o.max_body_bytes = 8; },
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n"
       "5\r\nfghij\r\n0\r\n\r\n",
       413, true},
      {"414 request line", [](ServerOptions& o) { o.max_header_bytes = 1024; },
       "GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, true},
      {"431 header block", [](ServerOptions& o) { o.max_header_bytes = 1024; },
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", 431, true},
      {"417 expectation", {}, "GET / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n", 417, false},
      {"505 version", {}, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, true},
      {"503 max connections", [](ServerOptions& o) { o.max_connections = 1; }, kCheck, 503, true,
       true},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    HttpHarness h;
    ServerOptions options;
    if (c.configure) c.configure(options);
    ASSERT_TRUE(h.start(echo_handler(), options));
    std::unique_ptr<HttpTestClient> holder;
    if (c.server_full) {
      holder = h.connect();
      holder->send(kCheck);
      ASSERT_TRUE(holder->wait_replies(1));
    }
    auto client = h.connect();
    client->send(c.request);
    ASSERT_TRUE(client->wait_replies(1)) << client->raw;
    EXPECT_EQ(client->replies[0].status, c.status);
    expect_open_or_closed(*client, 1, c.closes);
    EXPECT_EQ(h.server->metrics().requests_by_class[c.status / 100], 1u);
    if (holder) {
      EXPECT_EQ(holder->replies.size(), 1u);
    }
  }
}

TEST(HttpErrors, MaxConnectionsAnswers503AndCloses) {
  HttpHarness h;
  ServerOptions o;
  o.max_connections = 1;
  ASSERT_TRUE(h.start(echo_handler(), o));
  auto first = h.connect();
  first->send(kCheck);
  ASSERT_TRUE(first->wait_replies(1));
  auto second = h.connect();
  second->send(kCheck);
  ASSERT_TRUE(second->wait_replies(1));
  EXPECT_EQ(second->replies[0].status, 503);
  EXPECT_TRUE(second->wait_closed());
  EXPECT_EQ(h.server->metrics().active_connections, 1u);
  // The admitted one still works; once it is gone, a new one is admitted.
  first->send(kCheck);
  ASSERT_TRUE(first->wait_replies(2));
  first->close();
  ASSERT_TRUE(test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 0; }));
  auto third = h.connect();
  third->send(kCheck);
  ASSERT_TRUE(third->wait_replies(1));
  EXPECT_EQ(third->replies[0].status, 200);
}

TEST(HttpErrors, AnErrorWaitsForTheAnswersBeforeIt) {
  HttpHarness h;
  std::vector<Response> held;
  ASSERT_TRUE(h.start([&](const Request&, Response res) { held.push_back(std::move(res)); }));
  auto c = h.connect();
  c->send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nG@RBAGE\r\n\r\n");
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 1; }));
  Timer later(h.loop);
  later.start([&] { held[0].end("first"); }, 5);
  ASSERT_TRUE(c->wait_closed());
  ASSERT_EQ(c->replies.size(), 2u) << c->raw;
  EXPECT_EQ(c->replies[0].body, "first");
  EXPECT_TRUE(c->replies[0].keep_alive);
  EXPECT_EQ(c->replies[1].status, 400);
}

// /work/shared/conformance/http-edge-cases.md: each raw request on a fresh connection. We answer
// as Node 20 does, or as nginx where it is more precise (414, 505).
struct EdgeCase {
  const char* name;
  std::string raw;
  std::vector<int> statuses;
  bool closes;
};

TEST(HttpErrors, ConformanceEdgeCases) {
  const std::vector<EdgeCase> cases = {
      {"simple GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {200}, false},
      {"HTTP/1.0 GET (closes)", "GET / HTTP/1.0\r\n\r\n", {200}, true},
      {"two pipelined GETs",
       "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
       {200, 200},
       false},
      {"HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", {200}, false},
      {"Connection: close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {200}, true},
      {"POST with Content-Length body",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
       {200},
       false},
      {"POST chunked body",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       {200},
       false},
      {"Expect: 100-continue",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
       {100},
       false},
      {"non-numeric Content-Length",
       "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
       {400},
       true},
      {"two different Content-Lengths",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello",
       {400},
       true},
      {"Content-Length with Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       {400},
       true},
      {"Transfer-Encoding: identity",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
       {400},
       true},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       {400},
       true},
      {"space before colon in header", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", {400}, true},
      {"bare LF line endings", "GET / HTTP/1.1\nHost: x\n\n", {400}, true},
      {"invalid method token", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", {400}, true},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", {505}, true},
      {"HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400}, true},
      {"header block of 70 kB",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n",
       {431},
       true},
      {"request line of 70 kB",
       "GET /" + std::string(70000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
       {414},
       true},
      {"NUL in header value",
       std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 38),
       {400},
       true},
      {"obs-fold header continuation",
       "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
       {400},
       true},
      {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", {400}, true},
      {"absolute-form URI", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", {200}, false},
      {"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", {400}, true},
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", {400}, true},
  };
  HttpHarness h;
  ASSERT_TRUE(h.start(echo_handler()));
  for (const EdgeCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto client = h.connect();
    client->send(c.raw, std::string_view(c.raw).starts_with("HEAD"));
    ASSERT_TRUE(client->wait_replies(c.statuses.size())) << client->raw;
    std::vector<int> got;
    for (const auto& r : client->replies) got.push_back(r.status);
    EXPECT_EQ(got, c.statuses);
    if (c.statuses == std::vector<int>{100}) {
      client->send_more("hello");  // the body it was waiting for
      ASSERT_TRUE(client->wait_replies(2));
      EXPECT_EQ(client->replies[1].status, 200);
      expect_open_or_closed(*client, 2, false);
    } else {
      expect_open_or_closed(*client, c.statuses.size(), c.closes);
    }
  }
}

TEST(HttpTimeouts, KeepAliveTimeoutClosesAnIdleConnection) {
  HttpHarness h;
  ServerOptions o;
  o.keep_alive_timeout_ms = 40;
  ASSERT_TRUE(h.start(echo_handler(), o));
  auto c = h.connect();
  c->send(kCheck);
  ASSERT_TRUE(c->wait_replies(1));
  EXPECT_TRUE(c->wait_closed());
  EXPECT_EQ(c->replies.size(), 1u);  // closed quietly, no 408
  EXPECT_TRUE(test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 0; }));
}

TEST(HttpTimeouts, NoTimeoutWhileTheHandlerWorks) {
  HttpHarness h;
  ServerOptions o;
  o.keep_alive_timeout_ms = 20;
  o.headers_timeout_ms = 20;
  o.request_timeout_ms = 20;
  Timer slow(h.loop);
  Response held;
  ASSERT_TRUE(h.start(
      [&](const Request&, Response res) {
        held = std::move(res);
        // Ten times every timeout: the connection must wait for the answer.
        slow.start([&] { held.end("late"); }, 200);
      },
      o));
  auto c = h.connect();
  c->send(kCheck);
  ASSERT_TRUE(c->wait_replies(1));
  EXPECT_EQ(c->replies[0].body, "late");
  EXPECT_TRUE(c->wait_closed());  // and then the keep-alive timeout applies
}

TEST(HttpTimeouts, AConnectionThatSendsNothingIsClosedWithoutAnAnswer) {
  HttpHarness h;
  ServerOptions o;
  o.headers_timeout_ms = 30;
  ASSERT_TRUE(h.start(echo_handler(), o));
  auto c = h.connect();
  EXPECT_TRUE(c->wait_closed());
  EXPECT_EQ(c->raw, "");
}

TEST(HttpTimeouts, HeaderTimeoutOfAPipelinedRequestComesAfterTheAnswersBeforeIt) {
  HttpHarness h;
  ServerOptions o;
  o.headers_timeout_ms = 30;
  Timer slow(h.loop);
  Response held;
  ASSERT_TRUE(h.start(
      [&](const Request&, Response res) {
        held = std::move(res);
        slow.start([&] { held.end("first"); }, 100);
      },
      o));
  auto c = h.connect();
  c->send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHo");
  ASSERT_TRUE(c->wait_closed());
  ASSERT_EQ(c->replies.size(), 2u) << c->raw;
  EXPECT_EQ(c->replies[0].body, "first");
  EXPECT_EQ(c->replies[1].status, 408);
}

}  // namespace
}  // namespace herd::http
