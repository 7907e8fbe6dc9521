// resolve_request_path (src/serve/request_path.h): request targets to paths under the served
// folder, from a table; and encode_path, which must give back a target that resolves to the same
// path.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "serve/request_path.h"

namespace herd::serve {
namespace {

using namespace std::string_literals;

struct Case {
  std::string target;
  // The relative path, or "400" / "404" for the error.
  std::string want;
  bool folder = false;
};

std::string describe(const std::expected<RequestPath, PathError>& r) {
  if (!r) return r.error() == PathError::kBadRequest ? "400" : "404";
  return r->relative;
}

// clang-format off
const Case kCases[] = {
    // Plain paths.
    {"/", "", true},
    {"/index.html", "index.html"},
    {"/a/b/c.txt", "a/b/c.txt"},
    {"/a/b/", "a/b", true},
    {"/a//b", "a/b"},
    {"//a", "a"},
    {"/a/./b", "a/b"},
    {"/./", "", true},
    {"/a/.", "a", true},
    {"/a/%2e", "a", true},
    {"/a+b", "a+b"},
    {"/a%20b", "a b"},
    {"/%41%62", "Ab"},
    {"/caf%C3%A9", "caf\xc3\xa9"},
    {"/caf\xc3\xa9", "caf\xc3\xa9"},
    {"/a..b", "a..b"},
    {"/a.", "a."},
    {"/..a", "404"},  // a hidden name, not a parent
    {"/%25", "%"},
    {"/%2541", "%41"},  // decoded once only
    {"/.well-known/security.txt", ".well-known/security.txt"},
    // Query and fragment.
    {"/a?x=1", "a"},
    {"/a?/../../etc/passwd", "a"},
    {"/a#/../x", "a"},
    {"/?", "", true},
    // Absolute form.
    {"http://example.com/a/b", "a/b"},
    {"HTTP://example.com", "", true},
    {"https://example.com?x", "", true},
    {"http://example.com/../x", "400"},
    // Not a path.
    {"", "400"},
    {"*", "400"},
    {"a/b", "400"},
    {"../secret", "400"},
    {"ftp://example.com/a", "400"},
    // Parent segments, however spelled.
    {"/..", "400"},
    {"/../secret", "400"},
    {"/a/../b", "400"},
    {"/a/..", "400"},
    {"/a/../", "400"},
    {"/%2e%2e/secret", "400"},
    {"/%2E%2e/secret", "400"},
    {"/.%2e/secret", "400"},
    {"/%2e./secret", "400"},
    {"/a/..%2fsecret", "400"},
    {"/%2E%2e%2fsecret", "400"},
    {"/..%5csecret", "400"},
    // Encoded separators and NUL: refused, never decoded into the path.
    {"/%2f", "400"},
    {"/a%2Fb", "400"},
    {"/a%5cb", "400"},
    {"/a%5Cb", "400"},
    {"/a\\b", "400"},
    {"/%00", "400"},
    {"/a%00.txt", "400"},
    {"/a\0b"s, "400"},
    // Malformed percent-encoding.
    {"/%", "400"},
    {"/a%", "400"},
    {"/%4", "400"},
    {"/%zz", "400"},
    {"/%g0", "400"},
    {"/%0g", "400"},
    {"/%%41", "400"},
    // Control bytes, raw or encoded.
    {"/a\tb", "400"},
    {"/a%0ab", "400"},
    {"/a%0D%0Ab", "400"},
    {"/a\x7f", "400"},
    {"/a%7F", "400"},
    {"/a%1b", "400"},
    // Hidden names.
    {"/.env", "404"},
    {"/.git/config", "404"},
    {"/a/.hidden/b", "404"},
    {"/%2eenv", "404"},
    {"/...", "404"},
    {"/.well-known/.secret", "404"},
    // A malformed target is a 400 even after a hidden name.
    {"/.git/%zz", "400"},
    {"/.git/../x", "400"},
};
// clang-format on

TEST(ServeRequestPath, Table) {
  for (const Case& c : kCases) {
    auto r = resolve_request_path(c.target);
    EXPECT_EQ(describe(r), c.want) << "target: " << testing::PrintToString(c.target);
    if (r) {
      EXPECT_EQ(r->folder, c.folder) << "target: " << testing::PrintToString(c.target);
    }
  }
}

TEST(ServeRequestPath, Lengths) {
  std::string name255(255, 'n');
  std::string name256(256, 'n');
  EXPECT_EQ(describe(resolve_request_path("/" + name255)), name255);
  EXPECT_EQ(describe(resolve_request_path("/" + name256)), "404");
  // Sixteen such names fill PATH_MAX - 1 bytes; one more is over: no such file can exist.
  std::string deep;
  for (int i = 0; i < 16; ++i) deep += "/" + name255;
  EXPECT_EQ(describe(resolve_request_path(deep)).size(), 4095u);
  EXPECT_EQ(describe(resolve_request_path(deep + "/n")), "404");
  // A target over kMaxTargetPath is refused as such, whatever it holds.
  EXPECT_EQ(describe(resolve_request_path("/" + std::string(kMaxTargetPath, 'a'))), "400");
  EXPECT_EQ(describe(resolve_request_path("/a?" + std::string(kMaxTargetPath, 'a'))), "a");
}

TEST(ServeRequestPath, EncodePathResolvesBackToTheSamePath) {
  const std::string paths[] = {"",      "a",        "a/b c/d",       "caf\xc3\xa9/%41",
                               "a?b#c", "x+y=z&w",  "semi;colon",    "quote\"d",
                               "50%",   "\xff\xfe", ".well-known/a", "tilde~under_score-dash."};
  for (const std::string& p : paths) {
    std::string target = encode_path(p);
    EXPECT_EQ(target[0], '/');
    auto r = resolve_request_path(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->relative, p) << target;
  }
  EXPECT_EQ(encode_path("a b/c?d"), "/a%20b/c%3Fd");
  EXPECT_EQ(encode_path("caf\xc3\xa9"), "/caf%C3%A9");
}

}  // namespace
}  // namespace herd::serve
