// The pure parts of `herd serve`: content types, Range headers, HTTP dates, basic
// authentication.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "serve/basic_auth.h"
#include "serve/byte_range.h"
#include "serve/content_type.h"
#include "serve/http_date.h"

namespace herd::serve {
namespace {

TEST(ServeContentType, CommonTypes) {
  struct {
    const char* name;
    const char* type;
  } cases[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"a/b/page.HTM", "text/html; charset=utf-8"},
      {"site.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"mod.mjs", "text/javascript; charset=utf-8"},
      {"data.json", "application/json"},
      {"logo.svg", "image/svg+xml"},
      {"a.png", "image/png"},
      {"a.jpg", "image/jpeg"},
      {"a.JPEG", "image/jpeg"},
      {"a.gif", "image/gif"},
      {"a.webp", "image/webp"},
      {"favicon.ico", "image/vnd.microsoft.icon"},
      {"app.wasm", "application/wasm"},
      {"notes.txt", "text/plain; charset=utf-8"},
      {"f.woff", "font/woff"},
      {"f.woff2", "font/woff2"},
      {"app.js.map", "application/json"},
      {"doc.pdf", "application/pdf"},
      {"feed.xml", "application/xml"},
      // Unknown, or no extension at all.
      {"archive.unknownext", "application/octet-stream"},
      {"Makefile", "application/octet-stream"},
      {"dir.d/file", "application/octet-stream"},
      {".htaccess", "application/octet-stream"},
      {"trailingdot.", "application/octet-stream"},
      {"", "application/octet-stream"},
  };
  for (const auto& c : cases) EXPECT_EQ(content_type_for(c.name), c.type) << c.name;
}

TEST(ServeContentType, TableIsSortedLowerCaseAndUnique) {
  auto table = content_type_table();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& e = table[i];
    EXPECT_TRUE(std::none_of(e.extension.begin(), e.extension.end(), [](char c) {
      return c >= 'A' && c <= 'Z';
    })) << e.extension;
    if (i > 0) {
      EXPECT_LT(table[i - 1].extension, e.extension);
    }
    // Every entry is found by the lookup (the binary search depends on the order).
    EXPECT_EQ(content_type_for("x." + std::string(e.extension)), e.type);
  }
}

std::string show(const RangeAnswer& a) {
  switch (a.kind) {
    case RangeKind::kWhole:
      return "whole";
    case RangeKind::kUnsatisfiable:
      return "416";
    case RangeKind::kPartial:
      return std::to_string(a.first) + "+" + std::to_string(a.length);
  }
  return "?";
}

TEST(ServeRange, Table) {
  struct {
    const char* header;
    std::uint64_t size;
    const char* want;
  } cases[] = {
      {"bytes=0-0", 10, "0+1"},
      {"bytes=0-9", 10, "0+10"},
      {"bytes=2-5", 10, "2+4"},
      {"bytes=2-100", 10, "2+8"},
      {"bytes=5-", 10, "5+5"},
      {"bytes=9-", 10, "9+1"},
      {"bytes=-3", 10, "7+3"},
      {"bytes=-10", 10, "0+10"},
      {"bytes=-100", 10, "0+10"},
      {"BYTES=1-2", 10, "1+2"},
      {"  bytes=1-2  ", 10, "1+2"},
      {"bytes= 1-2 ", 10, "1+2"},
      {"bytes=1-2,", 10, "1+2"},  // empty list elements do not count
      {"bytes=0-99999999999999999999999", 10, "0+10"},
      {"bytes=-99999999999999999999999", 10, "0+10"},
      // Unsatisfiable.
      {"bytes=10-", 10, "416"},
      {"bytes=10-20", 10, "416"},
      {"bytes=99999999999999999999999-", 10, "416"},
      {"bytes=-0", 10, "416"},
      {"bytes=0-", 0, "416"},
      {"bytes=-5", 0, "416"},
      // Not read: the whole file.
      {"", 10, "whole"},
      {"bytes=", 10, "whole"},
      {"bytes=5", 10, "whole"},
      {"bytes=-", 10, "whole"},
      {"bytes=3-2", 10, "whole"},
      {"bytes=a-b", 10, "whole"},
      {"bytes=1-2x", 10, "whole"},
      {"bytes=+1-2", 10, "whole"},
      {"bytes=1 -2", 10, "whole"},
      {"items=1-2", 10, "whole"},
      {"bytes 1-2", 10, "whole"},
      {"bytes=0-1,3-4", 10, "whole"},  // several ranges: the whole file
      {"bytes=0-1, -2", 10, "whole"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(show(parse_range(c.header, c.size)), c.want) << c.header << " of " << c.size;
  }
}

TEST(ServeRange, ContentRange) {
  EXPECT_EQ(content_range(parse_range("bytes=2-5", 10), 10), "bytes 2-5/10");
  EXPECT_EQ(content_range(parse_range("bytes=-3", 10), 10), "bytes 7-9/10");
  EXPECT_EQ(content_range(parse_range("bytes=10-", 10), 10), "bytes */10");
  EXPECT_EQ(content_range(parse_range("", 10), 10), "");
}

TEST(ServeHttpDate, FormatAndParse) {
  EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(format_http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(format_http_date(999999999999999), "Fri, 31 Dec 9999 23:59:59 GMT");  // clamped
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
  // Round trip over a span of days and times.
  for (std::int64_t t = -86400 * 400; t < 86400LL * 365 * 60; t += 86400 * 17 + 3607) {
    EXPECT_EQ(parse_http_date(format_http_date(t)), t) << format_http_date(t);
  }
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT",
                          "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
                          "Sun, 6 Nov 1994 08:49:37 GMT ", "Sun, 0x Nov 1994 08:49:37 GMT"}) {
    EXPECT_FALSE(parse_http_date(bad).has_value()) << bad;
  }
}

TEST(ServeBasicAuth, Base64) {
  EXPECT_EQ(decode_base64("dTpw"), "u:p");
  EXPECT_EQ(decode_base64("YWxhZGRpbjpvcGVuc2VzYW1l"), "aladdin:opensesame");
  EXPECT_EQ(decode_base64("YQ=="), "a");
  EXPECT_EQ(decode_base64("YQ"), "a");
  EXPECT_EQ(decode_base64("YWI="), "ab");
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_FALSE(decode_base64("Y").has_value());
  EXPECT_FALSE(decode_base64("YQ==="));
  EXPECT_FALSE(decode_base64("a b="));
  EXPECT_FALSE(decode_base64("YQ*="));
}

TEST(ServeBasicAuth, Matches) {
  // "user:pa:ss" -> dXNlcjpwYTpzcw==
  const char* good = "Basic dXNlcjpwYTpzcw==";
  EXPECT_TRUE(basic_auth_matches(good, "user", "pa:ss"));
  EXPECT_TRUE(basic_auth_matches("basic dXNlcjpwYTpzcw==", "user", "pa:ss"));
  EXPECT_TRUE(basic_auth_matches("BASIC   dXNlcjpwYTpzcw==", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches(good, "user", "pa"));
  EXPECT_FALSE(basic_auth_matches(good, "use", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches(good, "user", "pa:ss!"));
  EXPECT_FALSE(basic_auth_matches(std::nullopt, "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("Bearer dXNlcjpwYTpzcw==", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("Basic", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("Basic !!!!", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("Basic dXNlcg==", "user", ""));  // "user": no colon
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));
  EXPECT_FALSE(constant_time_equals("abcd", "abc"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

}  // namespace
}  // namespace herd::serve
