// StaticSite (src/serve/static_site.h) on a real http::Server over loopback: folders and their
// index.html, the 404 page, --spa, conditional and Range requests, methods, basic
// authentication, a body larger than every buffer, and requests that try to leave the root.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "herd/http/server.h"
#include "serve/http_date.h"
#include "serve/static_site.h"
#include "support/temp_dir.h"
#include "unit/http_test_client.h"

namespace herd::serve {
namespace {

using test::HttpHarness;
using test::HttpReply;

constexpr const char* kSecret = "TOP-SECRET-CONTENT";

class ServeSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("secret", kSecret);
    dir_.write("site/index.html", "<p>home</p>");
    dir_.write("site/a.txt", "0123456789");
    dir_.write("site/app.js", "js();");
    dir_.write("site/sub/index.html", "<p>sub</p>");
    dir_.write("site/nested/deep/c.css", "body{}");
    dir_.write("site/.env", "HIDDEN");
    ::mkdir(dir_.file("site/empty").c_str(), 0755);
    ::symlink("../secret", dir_.file("site/out_link").c_str());
    ::symlink("..", dir_.file("site/out_dir").c_str());
  }

  void start(SiteOptions options = {}) {
    options.root = dir_.file("site");
    auto site = StaticSite::open(options);
    ASSERT_TRUE(site) << site.error().message();
    site_ = std::move(*site);
    ASSERT_TRUE(h_.start([this](const http::Request& req, http::Response res) {
      site_->handle(req, std::move(res));
    }));
  }

  // One request on a new connection; `extra` is more header lines ("Range: bytes=0-1\r\n").
  HttpReply get(const std::string& target, const std::string& extra = {},
                const std::string& method = "GET") {
    auto c = h_.connect();
    c->send(method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n", method == "HEAD");
    if (!c->wait_replies(1)) {
      ADD_FAILURE() << "no answer to " << method << " " << target << ": " << c->error
                    << c->parse_error;
      return {};
    }
    return c->replies[0];
  }

  test::TempDir dir_{"serve-site"};
  HttpHarness h_;
  std::unique_ptr<StaticSite> site_;
};

TEST_F(ServeSiteTest, FilesWithTheirHeaders) {
  start();
  HttpReply r = get("/a.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "0123456789");
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.header("Content-Length"), "10");
  EXPECT_EQ(r.header("Accept-Ranges"), "bytes");
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*");
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("site/a.txt").c_str(), &st), 0);
  EXPECT_EQ(r.header("Last-Modified"), format_http_date(st.st_mtim.tv_sec));
  EXPECT_EQ(get("/app.js").header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/nested/deep/c.css?v=3").body, "body{}");

  HttpReply head = get("/a.txt", "", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "10");
  EXPECT_EQ(head.body, "");
}

TEST_F(ServeSiteTest, FoldersAnswerWithTheirIndex) {
  start();
  EXPECT_EQ(get("/").body, "<p>home</p>");
  EXPECT_EQ(get("/").header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/sub/").body, "<p>sub</p>");
  HttpReply r = get("/sub");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), "/sub/");
  EXPECT_EQ(get("/sub?x=1").header("Location"), "/sub/?x=1");
  // No index: no listing.
  EXPECT_EQ(get("/empty/").status, 404);
  EXPECT_EQ(get("/empty").status, 404);
  EXPECT_EQ(get("/nested/").status, 404);
  // A file asked for as a folder.
  EXPECT_EQ(get("/a.txt/").status, 404);
}

TEST_F(ServeSiteTest, NotFoundUsesThe404PageWhenThereIsOne) {
  start();
  HttpReply r = get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 Not Found\n");
  dir_.write("site/404.html", "<p>lost</p>");
  r = get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "<p>lost</p>");
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/.env").status, 404);
}

TEST_F(ServeSiteTest, SpaFallsBackToTheBaseNameThenIndex) {
  start({.spa = true});
  HttpReply r = get("/users/42");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<p>home</p>");
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  // PM2's fallback: a relative asset under a deep route is the root's file of that name.
  r = get("/users/42/app.js");
  EXPECT_EQ(r.body, "js();");
  EXPECT_EQ(r.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/empty/").body, "<p>home</p>");
  EXPECT_EQ(get("/a.txt").body, "0123456789");
  EXPECT_EQ(get("/.env").body, "<p>home</p>");
  // Refusals stay refusals.
  EXPECT_EQ(get("/%2e%2e/secret").status, 400);
  EXPECT_EQ(get("/out_link").status, 403);
  ::unlink(dir_.file("site/index.html").c_str());
  EXPECT_EQ(get("/users/42").status, 404);
}

TEST_F(ServeSiteTest, ConditionalRequests) {
  start();
  std::string modified = *get("/a.txt").header("Last-Modified");
  HttpReply r = get("/a.txt", "If-Modified-Since: " + modified + "\r\n");
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(get("/a.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n").status, 200);
  EXPECT_EQ(get("/a.txt", "If-Modified-Since: yesterday\r\n").status, 200);
  EXPECT_EQ(get("/a.txt", "If-Modified-Since: " + modified + "\r\nIf-None-Match: \"x\"\r\n").status,
            200);
}

TEST_F(ServeSiteTest, Ranges) {
  start();
  HttpReply r = get("/a.txt", "Range: bytes=2-5\r\n");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "2345");
  EXPECT_EQ(r.header("Content-Range"), "bytes 2-5/10");
  EXPECT_EQ(r.header("Content-Length"), "4");
  EXPECT_EQ(get("/a.txt", "Range: bytes=7-\r\n").body, "789");
  EXPECT_EQ(get("/a.txt", "Range: bytes=-2\r\n").body, "89");
  r = get("/a.txt", "Range: bytes=10-\r\n");
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("Content-Range"), "bytes */10");
  r = get("/a.txt", "Range: bytes=0-1,4-5\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "0123456789");
  std::string modified = *get("/a.txt").header("Last-Modified");
  EXPECT_EQ(get("/a.txt", "Range: bytes=0-0\r\nIf-Range: " + modified + "\r\n").status, 206);
  EXPECT_EQ(get("/a.txt", "Range: bytes=0-0\r\nIf-Range: \"etag\"\r\n").status, 200);
  r = get("/a.txt", "Range: bytes=1-2\r\n", "HEAD");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.header("Content-Length"), "2");
  EXPECT_EQ(r.body, "");
}

TEST_F(ServeSiteTest, OnlyGetAndHead) {
  start();
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    HttpReply r = get("/a.txt", "Content-Length: 0\r\n", m);
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(r.header("Allow"), "GET, HEAD") << m;
  }
}

TEST_F(ServeSiteTest, BasicAuthentication) {
  start({.user = "user", .password = "pa:ss"});
  HttpReply r = get("/a.txt");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"Authentication service\"");
  EXPECT_EQ(get("/a.txt", "Authorization: Basic dXNlcjp3cm9uZw==\r\n").status, 401);  // user:wrong
  EXPECT_EQ(get("/../x", "Authorization: Basic dXNlcjp3cm9uZw==\r\n").status, 401);
  r = get("/a.txt", "Authorization: Basic dXNlcjpwYTpzcw==\r\n");  // user:pa:ss
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "0123456789");
}

TEST_F(ServeSiteTest, NothingOutsideTheRoot) {
  start();
  const std::vector<std::string> targets = {
      "/../secret",     "/%2e%2e/secret", "/%2E%2e%2fsecret",   "/a/..%2fsecret",    "/%2fsecret",
      "/..%5csecret",   "/out_link",      "/out_dir/secret",    "/out_dir/",         "/%00",
      "/secret%00.txt", "/%zz",           "http://x/../secret", "/sub/../../secret", "/.%2e/secret",
      "//../secret"};
  for (const std::string& t : targets) {
    HttpReply r = get(t);
    EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404) << t << ": " << r.status;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos) << t;
  }
  EXPECT_EQ(get("/out_link").status, 403);
  EXPECT_EQ(get("/%2e%2e/secret").status, 400);
  EXPECT_EQ(get("/%00").status, 400);
}

TEST_F(ServeSiteTest, ALargeFileIsStreamedWhole) {
  // 6 MiB: more than the connection's high-water mark and the socket buffers, so the body waits
  // for drains on the way.
  std::string big;
  for (int i = 0; big.size() < 6 * 1024 * 1024; ++i) big += std::to_string(i) + "\n";
  dir_.write("site/big.bin", big);
  start();
  HttpReply r = get("/big.bin");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  ASSERT_EQ(r.body.size(), big.size());
  EXPECT_TRUE(r.body == big);
  r = get("/big.bin", "Range: bytes=5000000-5000009\r\n");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, big.substr(5000000, 10));
}

TEST_F(ServeSiteTest, AClientThatLeavesMidBodyEndsTheBody) {
  dir_.write("site/big.bin", std::string(8 * 1024 * 1024, 'x'));
  start();
  auto c = h_.connect();
  c->send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(test::run_until(h_.loop, [&] { return c->raw.size() > 100000; }));
  c->close();
  // The server notices, drops the body (and the file), and serves the next client.
  ASSERT_TRUE(
      test::run_until(h_.loop, [&] { return h_.server->metrics().active_connections == 0; }));
  EXPECT_EQ(get("/a.txt").body, "0123456789");
}

}  // namespace
}  // namespace herd::serve
