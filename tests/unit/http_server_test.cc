// http::Server over real loopback connections: requests cut at every byte, pipelining, bodies,
// HEAD, 100-continue, HTTP/1.0 and Connection: close.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "herd/http/server.h"
#include "herd/loop/timer.h"
#include "unit/http_test_client.h"

namespace herd::http {
namespace {

using test::HttpHarness;
using test::HttpReply;

// What the handler saw of a request, as plain data.
struct Seen {
  std::string method, target, body;
  int minor = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false;
  bool operator==(const Seen&) const = default;
};

Seen seen(const Request& r) {
  Seen s{std::string(r.method()), std::string(r.target()), r.body(), r.version_minor(), {},
         r.keep_alive()};
  for (const Header& h : r.headers()) s.headers.emplace_back(h.name, h.value);
  return s;
}

// A handler that records each request and answers "<method> <target> <body>".
struct Recorder {
  std::vector<Seen> requests;
  Handler handler() {
    return [this](const Request& req, Response res) {
      requests.push_back(seen(req));
      res.set_header("Content-Type", "text/plain");
      res.end(std::string(req.method()) + " " + std::string(req.target()) + " " + req.body());
    };
  }
};

TEST(HttpServer, SimpleGetKeepsTheConnection) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  auto c = h.connect();
  c->send("GET /hello?x=1 HTTP/1.1\r\nHost: test\r\nX-A:  spaced  \r\n\r\n");
  ASSERT_TRUE(c->wait_replies(1));
  const HttpReply& r = c->replies[0];
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET /hello?x=1 ");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.header("Content-Length"), "15");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  ASSERT_TRUE(r.header("Date").has_value());
  EXPECT_EQ(r.header("Date")->size(), 29u);  // "Sun, 06 Nov 1994 08:49:37 GMT"
  ASSERT_EQ(rec.requests.size(), 1u);
  EXPECT_EQ(rec.requests[0].headers, (std::vector<std::pair<std::string, std::string>>{
                                         {"Host", "test"}, {"X-A", "spaced"}}));
  // The same connection serves the next request.
  c->send("GET /again HTTP/1.1\r\nHost: test\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[1].body, "GET /again ");
  EXPECT_FALSE(c->closed);
  EXPECT_EQ(h.server->metrics().total_connections, 1u);
}

TEST(HttpServer, RequestsCutAtEveryByteParseTheSame) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  const std::vector<std::string> requests = {
      "GET /path/x?q=a%20b HTTP/1.1\r\nHost: example\r\nAccept: */*\r\nX-Long: a b c\r\n\r\n",
      "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\nContent-Type: a/b\r\n\r\n"
      "field=value&z",
      "PUT /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n"
      "5;ext=v\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
  };
  auto c = h.connect();
  std::uint64_t sent = 0;
  for (const std::string& req : requests) {
    // The whole request first: what the handler sees then is the reference.
    c->send(req);
    sent += req.size();
    ASSERT_TRUE(c->wait_replies(c->replies.size() + 1));
    const Seen reference = rec.requests.back();
    const std::string reference_body = c->replies.back().body;
    for (std::size_t cut = 1; cut < req.size(); ++cut) {
      // The first part must have reached the server (and been parsed) before the second is
      // sent, or the kernel could deliver both in one read and the cut would not be tested.
      c->send(req.substr(0, cut));
      ASSERT_TRUE(h.wait_bytes_in(sent + cut)) << "cut " << cut;
      c->send_more(req.substr(cut));
      sent += req.size();
      ASSERT_TRUE(c->wait_replies(c->replies.size() + 1)) << "cut " << cut;
      ASSERT_EQ(rec.requests.back(), reference) << "cut " << cut << " of\n" << req;
      ASSERT_EQ(c->replies.back().body, reference_body) << "cut " << cut;
    }
  }
  EXPECT_FALSE(c->closed);
  std::size_t expected = 0;
  for (const std::string& req : requests) expected += req.size();  // 1 whole + size-1 cuts each
  EXPECT_EQ(rec.requests.size(), expected);
}

TEST(HttpServer, PipelinedAnswersGoOutInRequestOrderWhateverOrderHandlersFinish) {
  HttpHarness h;
  std::vector<std::pair<std::string, Response>> held;
  ASSERT_TRUE(h.start([&](const Request& req, Response res) {
    held.emplace_back(std::string(req.target()), std::move(res));
  }));
  auto c = h.connect();
  c->send(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 3; }));
  // The last one first, then the first, then the middle one; each from a timer of its own.
  Timer t3(h.loop), t1(h.loop), t2(h.loop);
  t3.start([&] { held[2].second.end("three"); }, 1);
  t1.start([&] { held[0].second.end("one"); }, 5);
  t2.start([&] { held[1].second.end("two"); }, 10);
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held[2].second.finished(); }));
  EXPECT_TRUE(c->replies.empty()) << "an answer jumped the queue: " << c->raw;
  ASSERT_TRUE(c->wait_replies(3));
  EXPECT_EQ(c->replies[0].body, "one");
  EXPECT_EQ(c->replies[1].body, "two");
  EXPECT_EQ(c->replies[2].body, "three");
  for (const HttpReply& r : c->replies) EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(c->closed);
}

TEST(HttpServer, StreamedAnswersWaitTheirTurnToo) {
  HttpHarness h;
  std::vector<Response> held;
  ASSERT_TRUE(h.start([&](const Request&, Response res) { held.push_back(std::move(res)); }));
  auto c = h.connect();
  c->send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(test::run_until(h.loop, [&] { return held.size() == 2; }));
  EXPECT_TRUE(held[1].write("b1-"));
  EXPECT_TRUE(held[1].write("b2"));
  held[1].end();
  EXPECT_TRUE(held[0].write("a1-"));
  ASSERT_TRUE(test::run_until(h.loop, [&] { return !c->raw.empty(); }));
  held[0].end("a2");
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].body, "a1-a2");
  EXPECT_EQ(c->replies[0].header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(c->replies[1].body, "b1-b2");
}

TEST(HttpServer, ChunkedAndContentLengthBodies) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  auto c = h.connect();
  c->send(
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
      "A\r\n0123456789\r\n0\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwxyz"
      "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(3));
  EXPECT_EQ(c->replies[0].body, "POST /a abc0123456789");
  EXPECT_EQ(c->replies[1].body, "POST /b wxyz");
  EXPECT_EQ(c->replies[2].body, "POST /c ");
}

TEST(HttpServer, HeadGetsTheLengthButNoBody) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) { res.end("twelve bytes"); }));
  auto c = h.connect();
  c->send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].header("Content-Length"), "12");
  EXPECT_EQ(c->replies[0].body, "");
  EXPECT_EQ(c->replies[1].body, "twelve bytes");
  // No body byte between the two heads.
  std::size_t first_end = c->raw.find("\r\n\r\n");
  EXPECT_EQ(c->raw.compare(first_end + 4, 9, "HTTP/1.1 "), 0) << c->raw;
}

TEST(HttpServer, HeadWithAStreamedAnswerSendsNoBodyBytes) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.write("part");
    res.end("rest");
  }));
  auto c = h.connect();
  c->send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[0].body, "");
  EXPECT_EQ(c->raw.find("part"), c->raw.rfind("part"));  // only in the GET's answer
  EXPECT_EQ(c->replies[1].body, "partrest");
}

TEST(HttpServer, ExpectContinueGets100BeforeTheBodyIsSent) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  auto c = h.connect();
  c->send("PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(1));
  EXPECT_EQ(c->replies[0].status, 100);
  EXPECT_EQ(c->raw, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_TRUE(rec.requests.empty());
  c->send_more("hello");
  ASSERT_TRUE(c->wait_replies(2));
  EXPECT_EQ(c->replies[1].status, 200);
  EXPECT_EQ(c->replies[1].body, "PUT /up hello");
  EXPECT_TRUE(c->replies[1].keep_alive);
}

TEST(HttpServer, OtherExpectationsGet417AndTheConnectionGoesOn) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  auto c = h.connect();
  // With a body (read and dropped) and without.
  c->send("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: magic\r\n\r\nabc");
  c->send("GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n");
  c->send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(3));
  EXPECT_EQ(c->replies[0].status, 417);
  EXPECT_EQ(c->replies[1].status, 417);
  EXPECT_EQ(c->replies[2].status, 200);
  EXPECT_EQ(c->replies[2].body, "GET /next ");
  ASSERT_EQ(rec.requests.size(), 1u);  // the handler never saw the first two
}

TEST(HttpServer, Http10ClosesUnlessKeepAlive) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  auto ka = h.connect();
  ka->send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(ka->wait_replies(1));
  EXPECT_EQ(ka->replies[0].header("Connection"), "keep-alive");
  ka->send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(ka->wait_replies(2));
  EXPECT_FALSE(ka->closed);

  auto plain = h.connect();
  plain->send("GET /c HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(plain->wait_replies(1));
  EXPECT_EQ(plain->replies[0].status, 200);
  EXPECT_EQ(plain->replies[0].header("Connection"), "close");
  EXPECT_TRUE(plain->wait_closed());
}

TEST(HttpServer, Http10StreamedBodyIsDelimitedByTheClose) {
  HttpHarness h;
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    res.write("abc");
    res.end("def");
  }));
  auto c = h.connect();
  c->send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(c->wait_closed());
  ASSERT_EQ(c->replies.size(), 1u);
  EXPECT_EQ(c->replies[0].body, "abcdef");
  EXPECT_FALSE(c->replies[0].header("Transfer-Encoding").has_value());
  EXPECT_EQ(c->replies[0].header("Connection"), "close");
}

TEST(HttpServer, ConnectionCloseIsAnsweredThenClosedAndLaterBytesIgnored) {
  HttpHarness h;
  Recorder rec;
  ASSERT_TRUE(h.start(rec.handler()));
  auto c = h.connect();
  c->send(
      "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_closed());
  ASSERT_EQ(c->replies.size(), 1u);
  EXPECT_EQ(c->replies[0].header("Connection"), "close");
  EXPECT_FALSE(c->replies[0].keep_alive);
  ASSERT_EQ(rec.requests.size(), 1u);
  EXPECT_EQ(rec.requests[0].target, "/last");
}

TEST(HttpServer, MaxRequestsPerConnection) {
  HttpHarness h;
  Recorder rec;
  ServerOptions o;
  o.max_requests_per_connection = 2;
  ASSERT_TRUE(h.start(rec.handler(), o));
  auto c = h.connect();
  c->send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_closed());
  ASSERT_EQ(c->replies.size(), 2u);
  EXPECT_TRUE(c->replies[0].keep_alive);
  EXPECT_FALSE(c->replies[1].keep_alive);
}

}  // namespace
}  // namespace herd::http
