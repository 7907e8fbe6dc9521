// HttpStatusLine (daemon/health/http_status_line.h): every case is fed whole and split at every
// byte, and must read the same.
#include "daemon/health/http_status_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace herd::manager {
namespace {

using ::testing::HasSubstr;
using State = HttpStatusLine::State;

struct Case {
  std::string input;
  bool closed;  // the connection ends after the input
  State state;
  int code;
  const char* error;
};

const Case kCases[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, State::kDone, 200, ""},
    {"HTTP/1.0 302 Found\r\n", false, State::kDone, 302, ""},
    {"HTTP/1.1 500\r\n", false, State::kDone, 500, ""},
    {"HTTP/1.1 204 No Content\n", false, State::kDone, 204, ""},
    {"HTTP/1.1 20", false, State::kMore, 0, ""},
    {"HTTP/1.1 20", true, State::kFailed, 0,
     "connection closed in the status line ('HTTP/1.1 20')"},
    {"", true, State::kFailed, 0, "connection closed with no response"},
    // Fails at the first byte that cannot start "HTTP/": what it shows is what came so far.
    {"SSH-2.0-nope\r\n", false, State::kFailed, 0, "not an HTTP response ('S"},
    {"HTTP/2 200\r\n", false, State::kFailed, 0, "not an HTTP response"},
    {"HTTP/1.1 2x0 OK\r\n", false, State::kFailed, 0, "not an HTTP response"},
    {"HTTP/1.1 099 Low\r\n", false, State::kFailed, 0, "not an HTTP response"},
    {"HTTP/1.1 2000 OK\r\n", false, State::kFailed, 0, "not an HTTP response"},
    {"HTTP/1.1 200 " + std::string(2000, 'x'), false, State::kFailed, 0, "first 1024 bytes"},
};

State run(const Case& c, std::size_t split, HttpStatusLine* s) {
  State st = s->feed(std::string_view(c.input).substr(0, split));
  if (split < c.input.size()) st = s->feed(std::string_view(c.input).substr(split));
  if (c.closed) st = s->finish();
  return st;
}

TEST(HttpStatusLineTest, ReadsTheSameWhereverTheInputIsSplit) {
  for (const Case& c : kCases) {
    for (std::size_t split = 0; split <= c.input.size(); ++split) {
      HttpStatusLine s;
      State st = run(c, split, &s);
      ASSERT_EQ(st, c.state) << c.input.substr(0, 40) << " split at " << split << ": " << s.error();
      if (c.state == State::kDone) {
        EXPECT_EQ(s.code(), c.code);
      }
      if (c.state == State::kFailed) {
        EXPECT_THAT(s.error(), HasSubstr(c.error));
      }
    }
  }
}

TEST(HttpStatusLineTest, ByteByByte) {
  HttpStatusLine s;
  std::string in = "HTTP/1.1 404 Not Found\r\n";
  for (std::size_t i = 0; i + 1 < in.size(); ++i) {
    ASSERT_EQ(s.feed(in.substr(i, 1)), State::kMore) << i;
  }
  EXPECT_EQ(s.feed("\n"), State::kDone);
  EXPECT_EQ(s.code(), 404);
  EXPECT_EQ(s.feed("garbage"), State::kDone);  // nothing changes once done
}

}  // namespace
}  // namespace herd::manager
