// RequestParser (llhttp underneath): table-driven, and every input split at every byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/request_parser.h"

namespace herd::http::detail {
namespace {

using Event = RequestParser::Event;

// What the handler would see of one request, as plain data to compare.
struct Parsed {
  std::string method, target, body;
  int major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false;
  bool expect_continue = false;
  bool bad_expectation = false;
  bool operator==(const Parsed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Parsed& p) {
  os << p.method << " " << p.target << " HTTP/" << p.major << "." << p.minor << " [";
  for (auto& [k, v] : p.headers) os << k << "=" << v << ";";
  return os << "] body=" << p.body << " keep_alive=" << p.keep_alive;
}

struct Outcome {
  std::vector<Parsed> requests;
  int error = 0;  // the status of the error that ended parsing, 0 if none
  int headers_events = 0;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{error=" << o.error << " headers_events=" << o.headers_events;
  for (auto& r : o.requests) os << "\n  " << r;
  return os << "}";
}

// Feeds `chunks` one after the other, as a connection would: each chunk until it is consumed,
// acting on every event.
Outcome parse(const std::vector<std::string>& chunks, RequestParser::Limits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  for (const std::string& chunk : chunks) {
    std::string_view data = chunk;
    while (!data.empty() && out.error == 0) {
      std::size_t n = 0;
      Event e = parser.execute(data, &n);
      EXPECT_LE(n, data.size());
      data.remove_prefix(n);
      if (e == Event::kHeadersComplete) {
        ++out.headers_events;
        EXPECT_TRUE(parser.headers_done());
      } else if (e == Event::kMessageComplete) {
        const Request& r = parser.request();
        Parsed p{std::string(r.method()), std::string(r.target()),   r.body(),
                 r.version_major(),       r.version_minor(),         {},
                 r.keep_alive(),          parser.expects_continue(), parser.bad_expectation()};
        for (const Header& h : r.headers()) p.headers.emplace_back(h.name, h.value);
        out.requests.push_back(std::move(p));
        EXPECT_FALSE(parser.in_message());
        parser.next();
      } else if (e == Event::kError) {
        out.error = parser.error_status();
      }
    }
  }
  return out;
}

// Every way to cut `input` in two must give what the whole input gives.
void expect_same_at_every_split(const std::string& input, const Outcome& whole,
                                RequestParser::Limits limits = {}) {
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Outcome split = parse({input.substr(0, cut), input.substr(cut)}, limits);
    ASSERT_EQ(split, whole) << "cut at byte " << cut << " of:\n" << input;
  }
}

struct ValidCase {
  const char* name;
  std::string raw;
  Parsed expected;
};

std::vector<ValidCase> valid_cases() {
  return {
      {"simple GET",
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
       {"GET", "/", "", 1, 1, {{"Host", "x"}}, true}},
      {"query and white space around values",
       "GET /a/b?x=1&y=%20z HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \t \r\n"
       "Accept: */*\r\n\r\n",
       {"GET",
        "/a/b?x=1&y=%20z",
        "",
        1,
        1,
        {{"Host", "example.com"}, {"User-Agent", "curl/8"}, {"Accept", "*/*"}},
        true}},
      {"POST with Content-Length",
       "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n"
       "\r\nhello world",
       {"POST",
        "/submit",
        "hello world",
        1,
        1,
        {{"Host", "x"}, {"Content-Length", "11"}, {"Content-Type", "text/plain"}},
        true}},
      {"chunked body with an extension and a trailer",
       "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
       "6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
       {"POST",
        "/up",
        "hello world",
        1,
        1,
        {{"Host", "x"}, {"Transfer-Encoding", "chunked"}},
        true}},
      {"HTTP/1.0 keep-alive",
       "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       {"GET", "/ka", "", 1, 0, {{"Connection", "keep-alive"}}, true}},
      {"HEAD",
       "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n",
       {"HEAD", "/h", "", 1, 1, {{"Host", "x"}}, true}},
      {"absolute-form target",
       "GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n",
       {"GET", "http://x/y", "", 1, 1, {{"Host", "x"}}, true}},
      {"empty header value",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-B: b\r\n\r\n",
       {"GET", "/", "", 1, 1, {{"Host", "x"}, {"X-Empty", ""}, {"X-B", "b"}}, true}},
      {"Expect: 100-continue",
       "PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
       {"PUT",
        "/f",
        "abc",
        1,
        1,
        {{"Host", "x"}, {"Expect", "100-continue"}, {"Content-Length", "3"}},
        true,
        true}},
      {"another expectation",
       "GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n",
       {"GET", "/", "", 1, 1, {{"Host", "x"}, {"Expect", "something"}}, true, false, true}},
      {"OPTIONS *",
       "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
       {"OPTIONS", "*", "", 1, 1, {{"Host", "x"}}, true}},
  };
}

TEST(HttpParser, ValidRequestsParseTheSameAtEverySplit) {
  for (const ValidCase& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    Outcome whole = parse({c.raw});
    ASSERT_EQ(whole.error, 0);
    ASSERT_EQ(whole.requests.size(), 1u);
    EXPECT_EQ(whole.requests[0], c.expected);
    expect_same_at_every_split(c.raw, whole);
  }
}

TEST(HttpParser, PipelinedRequestsParseTheSameAtEverySplitAndByteByByte) {
  std::string all;
  std::vector<Parsed> expected;
  for (const ValidCase& c : valid_cases()) {
    all += c.raw;
    expected.push_back(c.expected);
  }
  Outcome whole = parse({all});
  ASSERT_EQ(whole.error, 0);
  EXPECT_EQ(whole.requests, expected);
  expect_same_at_every_split(all, whole);
  std::vector<std::string> bytes;
  for (char ch : all) bytes.emplace_back(1, ch);
  EXPECT_EQ(parse(bytes), whole);
}

TEST(HttpParser, ConnectionEndingRequests) {
  for (std::string raw :
       {"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ws\r\n\r\n"}) {
    SCOPED_TRACE(raw);
    Outcome whole = parse({raw});
    ASSERT_EQ(whole.requests.size(), 1u);
    EXPECT_FALSE(whole.requests[0].keep_alive);
    expect_same_at_every_split(raw, whole);
  }
}

struct ErrorCase {
  const char* name;
  std::string raw;
  int status;
};

TEST(HttpParser, MalformedRequestsGetTheirStatusAtEverySplit) {
  const std::vector<ErrorCase> cases = {
      {"invalid method token", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"non-numeric Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
       400},
      {"two Content-Lengths",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"Content-Length with Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"Transfer-Encoding: identity",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400},
      {"chunked not last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       400},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"bare LF line endings", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"NUL in a header value", std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 38),
       400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
      {"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\nX-B: c\r\n\r\n", 400},
      {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome whole = parse({c.raw});
    EXPECT_EQ(whole.error, c.status);
    EXPECT_TRUE(whole.requests.empty());
    expect_same_at_every_split(c.raw, whole);
  }
}

// llhttp 8 accepts these; herd's server documents strict framing (http/server.h): 400.
TEST(HttpParser, LenientFramingIsRefused) {
  const std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::vector<ErrorCase> cases = {
      {"obs-folded Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
       "5\r\nhello\r\n0\r\n\r\n",
       400},
      {"obs-fold of an empty value", "GET / HTTP/1.1\r\nHost: x\r\nX-A:\r\n\tb\r\n\r\n", 400},
      {"two bytes instead of CRLF after chunk data", chunked + "5\r\nhelloXY0\r\n\r\n", 400},
      {"LF LF after chunk data", chunked + "5\r\nhello\n\n0\r\n\r\n", 400},
      {"CR X after chunk data", chunked + "2\r\nhi\rX0\r\n\r\n", 400},
      {"space inside a header name", "GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n", 400},
      {"tab inside a header name", "GET / HTTP/1.1\r\nHost: x\r\nX\tA: b\r\n\r\n", 400},
      {"chunk extension over 4 KiB",
       chunked + "5;" + std::string(5000, 'e') + "\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension value over 4 KiB",
       chunked + "5;a=" + std::string(5000, 'v') + "\r\nhello\r\n0\r\n\r\n", 400},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome whole = parse({c.raw});
    EXPECT_EQ(whole.error, c.status);
    EXPECT_TRUE(whole.requests.empty());
    if (c.raw.size() < 1000) expect_same_at_every_split(c.raw, whole);
  }
  // What stays accepted: a short chunk extension, CRLF after each chunk, a normal fold-free
  // value, and chunk data split anywhere.
  std::string fine = chunked + "5;name=value\r\nhello\r\n2\r\nhi\r\n0\r\n\r\n";
  Outcome ok = parse({fine});
  ASSERT_EQ(ok.error, 0);
  ASSERT_EQ(ok.requests.size(), 1u);
  EXPECT_EQ(ok.requests[0].body, "hellohi");
  expect_same_at_every_split(fine, ok);
}

TEST(HttpParser, HeaderBlockLimitIsExact) {
  RequestParser::Limits limits{64, 1024};
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  std::string fits = head + std::string(64 - head.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 64u);
  Outcome ok = parse({fits}, limits);
  EXPECT_EQ(ok.error, 0);
  EXPECT_EQ(ok.requests.size(), 1u);
  expect_same_at_every_split(fits, ok, limits);

  std::string too_big = head + std::string(64 - head.size() - 3, 'a') + "\r\n\r\n";
  Outcome bad = parse({too_big}, limits);
  EXPECT_EQ(bad.error, 431);
  expect_same_at_every_split(too_big, bad, limits);

  // The limit holds per request: many small pipelined ones are fine.
  std::string many;
  for (int i = 0; i < 20; ++i) many += fits;
  EXPECT_EQ(parse({many}, limits).requests.size(), 20u);
}

TEST(HttpParser, LongRequestLineIs414AndLongHeadersAre431) {
  std::string long_line = "GET /" + std::string(70'000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(parse({long_line}).error, 414);
  std::string long_header =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70'000, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse({long_header}).error, 431);
  // Many headers, each small.
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(parse({many + "\r\n"}).error, 431);
}

TEST(HttpParser, BodyLimit) {
  RequestParser::Limits limits{16 * 1024, 10};
  // Content-Length over the limit: 413 from the header block alone, before any body byte.
  Outcome cl = parse({"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"}, limits);
  EXPECT_EQ(cl.error, 413);
  Outcome exact =
      parse({"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"}, limits);
  ASSERT_EQ(exact.requests.size(), 1u);
  EXPECT_EQ(exact.requests[0].body, "0123456789");
  // Chunked: counted as it comes.
  std::string chunked =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n"
      "0\r\n\r\n";
  Outcome big = parse({chunked}, limits);
  EXPECT_EQ(big.error, 413);
  expect_same_at_every_split(chunked, big, limits);
}

TEST(HttpParser, HeadersCompleteIsReportedOnlyWhenABodyFollows) {
  EXPECT_EQ(parse({"GET / HTTP/1.1\r\nHost: x\r\n\r\n"}).headers_events, 0);
  EXPECT_EQ(parse({"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"}).headers_events, 1);
  EXPECT_EQ(parse({"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"}).headers_events, 0);
  EXPECT_EQ(parse({"GET / HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n"}).headers_events, 0);
  EXPECT_EQ(parse({"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"})
                .headers_events,
            1);
  // HTTP/1.0 has no expectations.
  Outcome old = parse({"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"});
  ASSERT_EQ(old.requests.size(), 1u);
  EXPECT_FALSE(old.requests[0].expect_continue);
}

TEST(HttpParser, ReusesHeaderEntriesAcrossRequests) {
  RequestParser parser({});
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    std::size_t n = 0;
    ASSERT_EQ(parser.execute(req, &n), Event::kMessageComplete);
    EXPECT_EQ(n, req.size());
    ASSERT_EQ(parser.request().headers().size(), 3u);
    EXPECT_EQ(parser.request().headers()[2].value, "2");
    EXPECT_EQ(*parser.request().header("a"), "1");
    parser.next();
    EXPECT_TRUE(parser.request().headers().empty());
  }
}

TEST(HttpRequest, PathQueryAndParameters) {
  RequestParser parser({});
  std::string req =
      "GET /encrypt?text=hello+w%6Frld&empty&x=%zz&k%20ey=v HTTP/1.1\r\nHost: x\r\n\r\n";
  std::size_t n = 0;
  ASSERT_EQ(parser.execute(req, &n), Event::kMessageComplete);
  const Request& r = parser.request();
  EXPECT_EQ(r.path(), "/encrypt");
  EXPECT_EQ(r.query(), "text=hello+w%6Frld&empty&x=%zz&k%20ey=v");
  EXPECT_EQ(r.query_param("text"), "hello world");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("x"), "%zz");
  EXPECT_EQ(r.query_param("k ey"), "v");
  EXPECT_EQ(r.query_param("missing"), std::nullopt);
  EXPECT_EQ(r.header("HOST"), "x");
  EXPECT_EQ(r.header("nope"), std::nullopt);
}

}  // namespace
}  // namespace herd::http::detail
