// `herd serve [path] [port]`, PM2's `pm2 serve`, through the real CLI: a managed app (ls, logs,
// restart, stop, delete) whose process serves a folder over HTTP on loopback; GET and HEAD,
// index.html, --spa, content types, Range, basic authentication, 405; requests that try to
// read outside the folder; -i N on one port; --foreground; and the command lines refused before
// anything starts. PM2 7.0.4's behaviour is from lib/API/Serve.js, lib/API/Extra.js (serve) and
// lib/binaries/CLI.js, checked by running it; where herd differs, docs/pm2-compat.md says how.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "e2e/cluster_mode_fixture.h"
#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSecret = "SERVE-E2E-SECRET";

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string raw;
};

// One request on a new connection to 127.0.0.1:port ("Connection: close" is added), read to
// the end.
Reply http(int port, const std::string& method, const std::string& target,
           const std::string& extra = {}) {
  std::string error;
  std::string raw = exchange(
      port,
      method + " " + target + " HTTP/1.1\r\nHost: e2e\r\n" + extra + "Connection: close\r\n\r\n",
      10s, &error);
  Reply r;
  r.raw = raw;
  std::size_t end = raw.find("\r\n\r\n");
  if (!error.empty() || end == std::string::npos || raw.size() < 12) {
    ADD_FAILURE() << method << " " << target << ": " << error << " [" << raw << "]";
    return r;
  }
  r.status = std::atoi(raw.c_str() + 9);
  std::size_t line = raw.find("\r\n") + 2;
  while (line < end) {
    std::size_t next = raw.find("\r\n", line);
    std::string h = raw.substr(line, next - line);
    std::size_t colon = h.find(':');
    std::string name = h.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    r.headers[name] = h.substr(h.find_first_not_of(' ', colon + 1));
    line = next + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

class ServeTest : public HerdTest {
 protected:
  // $HERD_HOME/site, the folder served, with $HERD_HOME/secret beside it (outside).
  void SetUp() override {
    HerdTest::SetUp();
    site_ = path("site");
    write_file(path("secret"), kSecret);
    ::mkdir(site_.c_str(), 0755);
    ::mkdir((site_ + "/sub").c_str(), 0755);
    ::mkdir((site_ + "/empty").c_str(), 0755);
    write_file(site_ + "/index.html", "<h1>home</h1>");
    write_file(site_ + "/style.css", "body{}");
    write_file(site_ + "/app.js", "main();");
    write_file(site_ + "/logo.svg", "<svg/>");
    write_file(site_ + "/data.json", "{}");
    write_file(site_ + "/digits.txt", "0123456789");
    write_file(site_ + "/sub/index.html", "<h1>sub</h1>");
    ::symlink("../secret", (site_ + "/secret_link").c_str());
    ::symlink("..", (site_ + "/up").c_str());
    port_ = free_port();
  }

  // `herd serve <args>` that must succeed, then the app `name` online.
  void serve(const std::vector<std::string>& args, const std::string& name, std::size_t n = 1) {
    std::vector<std::string> argv{"serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = herd(argv);
    ASSERT_EQ(r.exit_code, 0) << r;
    Json list;
    ASSERT_TRUE(wait_status(name, "online", n, kWaitTimeout, &list)) << list.dump(1);
  }

  std::string default_name() const { return "static-page-server-" + std::to_string(port_); }

  std::string site_;
  int port_ = 0;
};

// PM2 7.0.4: the app is named static-page-server-<port>, runs in fork mode with the folder as
// its cwd, and prints "Serving <path> on port <port>"; `pm2 logs` shows Serve.js's "Exposing
// <path> directory on <host>:<port>".
TEST_F(ServeTest, ServesAFolderAsAManagedApp) {
  CommandResult r = herd({"serve", site_, std::to_string(port_), "--host", "127.0.0.1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("Serving " + site_ + " on port " + std::to_string(port_)));
  Json list;
  ASSERT_TRUE(wait_status(default_name(), "online", 1, kWaitTimeout, &list)) << list.dump(1);
  Json env = instance(list, default_name())["pm2_env"];
  EXPECT_EQ(env["exec_mode"], "fork_mode");
  EXPECT_EQ(env["pm_cwd"], site_);
  EXPECT_THAT(herd({"ls"}).out, HasSubstr(default_name()));

  Reply home = http(port_, "GET", "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_EQ(home.body, "<h1>home</h1>");
  EXPECT_EQ(home.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(home.headers["content-length"], "13");
  EXPECT_FALSE(home.headers["last-modified"].empty());
  Reply head = http(port_, "HEAD", "/digits.txt");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "10");
  EXPECT_EQ(head.body, "");
  EXPECT_TRUE(wait_for([&] {
    return contains(herd({"logs", default_name(), "--nostream", "--lines", "20"}).out,
                    "Exposing " + site_ + " directory on 127.0.0.1:" + std::to_string(port_));
  }));

  // restart: a new process serves; stop: nobody; delete: the app is gone.
  pid_t before = instance(list, default_name())["pid"].get<pid_t>();
  ASSERT_EQ(herd({"restart", default_name()}).exit_code, 0);
  ASSERT_TRUE(wait_jlist([&](const Json& l) {
    auto p = instances(l, default_name());
    return p.size() == 1 && p[0]["pid"].get<pid_t>() != before &&
           p[0]["pm2_env"]["status"] == "online";
  }));
  EXPECT_EQ(http(port_, "GET", "/app.js").body, "main();");
  ASSERT_EQ(herd({"stop", default_name()}).exit_code, 0);
  EXPECT_TRUE(wait_for([&] { return connect_tcp(port_) == -ECONNREFUSED; }));
  ASSERT_EQ(herd({"delete", default_name()}).exit_code, 0);
  EXPECT_TRUE(instances(jlist(), default_name()).empty());
}

TEST_F(ServeTest, TypesFoldersRangesAndMethods) {
  serve({site_, std::to_string(port_), "--host", "127.0.0.1", "--name", "site"}, "site");
  const std::pair<const char*, const char*> types[] = {
      {"/style.css", "text/css; charset=utf-8"},
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/logo.svg", "image/svg+xml"},
      {"/data.json", "application/json"},
      {"/digits.txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [file, type] : types)
    EXPECT_EQ(http(port_, "GET", file).headers["content-type"], type);

  EXPECT_EQ(http(port_, "GET", "/sub/").body, "<h1>sub</h1>");
  Reply moved = http(port_, "GET", "/sub");
  EXPECT_EQ(moved.status, 301);
  EXPECT_EQ(moved.headers["location"], "/sub/");
  EXPECT_EQ(http(port_, "GET", "/empty/").status, 404);  // no listing
  EXPECT_EQ(http(port_, "GET", "/missing.html").status, 404);

  Reply part = http(port_, "GET", "/digits.txt", "Range: bytes=3-5\r\n");
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, "345");
  EXPECT_EQ(part.headers["content-range"], "bytes 3-5/10");
  EXPECT_EQ(http(port_, "GET", "/digits.txt", "Range: bytes=-2\r\n").body, "89");
  Reply none = http(port_, "GET", "/digits.txt", "Range: bytes=10-\r\n");
  EXPECT_EQ(none.status, 416);
  EXPECT_EQ(none.headers["content-range"], "bytes */10");

  Reply post = http(port_, "POST", "/digits.txt", "Content-Length: 0\r\n");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
}

// PM2's --spa: a path that is no file gets the root's file of the same base name, else
// /index.html (Serve.js serveStaticFile). Basic auth: PM2's realm.
TEST_F(ServeTest, SpaAndBasicAuthentication) {
  serve({site_, std::to_string(port_), "--host", "127.0.0.1", "--spa", "--basic-auth-username",
         "ann", "--basic-auth-password", "s3cret:x"},
        default_name());
  Reply denied = http(port_, "GET", "/");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["www-authenticate"], "Basic realm=\"Authentication service\"");
  // ann:wrong
  EXPECT_EQ(http(port_, "GET", "/", "Authorization: Basic YW5uOndyb25n\r\n").status, 401);
  const std::string auth = "Authorization: Basic YW5uOnMzY3JldDp4\r\n";  // ann:s3cret:x
  Reply route = http(port_, "GET", "/users/42/profile", auth);
  EXPECT_EQ(route.status, 200);
  EXPECT_EQ(route.body, "<h1>home</h1>");
  EXPECT_EQ(http(port_, "GET", "/users/42/app.js", auth).body, "main();");
  EXPECT_EQ(http(port_, "GET", "/style.css", auth).body, "body{}");
  // The credentials reach the app through its environment, never its command line.
  Json list = jlist();
  pid_t pid = instance(list, default_name())["pid"].get<pid_t>();
  EXPECT_FALSE(contains(read_file("/proc/" + std::to_string(pid) + "/cmdline"), "s3cret"));
}

// PM2's `script: "serve"` in an ecosystem file (lib/API.js runs its Serve.js, which reads the
// PM2_SERVE_* variables of the app's env; a relative path against the app's cwd).
TEST_F(ServeTest, EcosystemAppWithScriptServe) {
  write_file(path("eco.json"), R"({"apps": [{"name": "static", "script": "serve", "env": {
      "PM2_SERVE_PATH": "site", "PM2_SERVE_PORT": )" +
                                   std::to_string(port_) + R"(,
      "PM2_SERVE_HOST": "127.0.0.1", "PM2_SERVE_SPA": "true", "PM2_SERVE_BASIC_AUTH": "true",
      "PM2_SERVE_BASIC_AUTH_USERNAME": "ann", "PM2_SERVE_BASIC_AUTH_PASSWORD": "s3cret:x"}}]})");
  CommandResult r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("static", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(instance(list, "static")["pm2_env"]["pm_cwd"], site_);
  EXPECT_EQ(http(port_, "GET", "/").status, 401);
  const std::string auth = "Authorization: Basic YW5uOnMzY3JldDp4\r\n";  // ann:s3cret:x
  EXPECT_EQ(http(port_, "GET", "/a/spa/route", auth).body, "<h1>home</h1>");
  // Restarted through the file: its variables read again, the same folder served.
  ASSERT_EQ(herd({"restart", path("eco.json")}).exit_code, 0);
  ASSERT_TRUE(wait_jlist([&](const Json& l) {
    auto p = instances(l, "static");
    return p.size() == 1 && p[0]["pm2_env"]["restart_time"] == 1 &&
           p[0]["pm2_env"]["status"] == "online";
  }));
  EXPECT_TRUE(wait_for([&] { return http(port_, "GET", "/app.js", auth).body == "main();"; }));
  // A folder that is not there is said at start, with the app's name.
  write_file(path("bad.json"), R"({"apps": [{"name": "nope", "script": "serve",
      "env": {"PM2_SERVE_PATH": "missing"}}]})");
  r = herd({"start", path("bad.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("app 'nope' (script \"serve\")")) << r;
  EXPECT_THAT(r.err, HasSubstr("missing")) << r;
}

TEST_F(ServeTest, NothingOutsideTheFolderIsEverServed) {
  serve({site_, std::to_string(port_), "--host", "127.0.0.1", "--name", "site"}, "site");
  const char* targets[] = {"/../secret",
                           "/%2e%2e/secret",
                           "/%2E%2e%2fsecret",
                           "/a/..%2fsecret",
                           "/..%2fsecret",
                           "/%2fsecret",
                           "/..%5csecret",
                           "/secret_link",
                           "/up/secret",
                           "/up/",
                           "/%00",
                           "/secret%00.html",
                           "/sub/../../secret",
                           "/.%2e/.%2e/secret",
                           "/%zz",
                           "http://e2e/../secret"};
  for (const char* t : targets) {
    Reply r = http(port_, "GET", t);
    EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404) << t << " -> " << r.status;
    EXPECT_FALSE(contains(r.raw, kSecret)) << t;
  }
  EXPECT_EQ(http(port_, "GET", "/%2e%2e/secret").status, 400);
  EXPECT_EQ(http(port_, "GET", "/secret_link").status, 403);
  EXPECT_EQ(http(port_, "GET", "/%00").status, 400);
  // The server is still there, unharmed (PM2 7.0.4's crashes on /%00 and restarts).
  Json list = jlist();
  EXPECT_EQ(instance(list, "site")["pm2_env"]["restart_time"], 0);
  EXPECT_EQ(http(port_, "GET", "/digits.txt").status, 200);
}

// PM2 7.0.4 ignores -i for serve (one fork-mode process); herd runs N processes on one port,
// which herd holds for the app.
TEST_F(ServeTest, InstancesShareOnePort) {
  serve({site_, std::to_string(port_), "--host", "127.0.0.1", "-i", "2", "--name", "pair"}, "pair",
        2);
  auto list = instances(jlist(), "pair");
  ASSERT_EQ(list.size(), 2u);
  for (const auto& p : list) {
    EXPECT_EQ(p["pm2_env"]["exec_mode"], "cluster_mode");
    EXPECT_EQ(p["pm2_env"]["listen"], Json::array({"127.0.0.1:" + std::to_string(port_)}));
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(http(port_, "GET", "/digits.txt").body, "0123456789");
  ASSERT_EQ(herd({"delete", "pair"}).exit_code, 0);
  EXPECT_TRUE(port_is_free(port_));
}

TEST_F(ServeTest, ForegroundServesInTheProcessUntilSigterm) {
  auto p = herd_background(
      {"serve", "--foreground", site_, std::to_string(port_), "--host", "127.0.0.1"});
  ASSERT_TRUE(p->pump_until([&] { return contains(p->out(), "Exposing"); }, kWaitTimeout))
      << p->result();
  EXPECT_EQ(http(port_, "GET", "/digits.txt").body, "0123456789");
  p->signal(SIGTERM);
  ASSERT_TRUE(p->wait_exit(kWaitTimeout));
  EXPECT_EQ(p->code(), 0) << p->result();
  EXPECT_TRUE(jlist().empty());  // no app was made
}

TEST_F(ServeTest, BadCommandLinesAreRefusedBeforeAnythingStarts) {
  write_file(path("plain.txt"), "x");
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  } bad[] = {
      {{"serve", path("nope"), std::to_string(port_)}, "No such file or directory"},
      {{"serve", path("plain.txt"), std::to_string(port_)}, "not a folder"},
      {{"serve", site_, "http"}, "port must be a number from 1 to 65535"},
      {{"serve", site_, "0"}, "port must be a number from 1 to 65535"},
      {{"serve", site_, "70000"}, "port must be a number from 1 to 65535"},
      {{"serve", site_, "--port", "-1"}, "port must be a number from 1 to 65535"},
      {{"serve", site_, std::to_string(port_), "extra"}, "third word"},
      {{"serve", site_, std::to_string(port_), "--ftp"}, "--ftp"},
      {{"serve", site_, std::to_string(port_), "--basic-auth-username", "u"}, "both"},
      {{"serve", site_, std::to_string(port_), "--interpreter", "node"}, "does not apply"},
      {{"serve", site_, std::to_string(port_), "--no-such-flag"}, "unknown option"},
      {{"serve", site_, std::to_string(port_), "--host", "unix:/tmp/x"}, "--host"},
      {{"serve", std::to_string(port_)}, "herd serve . " + std::to_string(port_)},
  };
  for (const Bad& b : bad) {
    CommandResult r = herd(b.args);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr(b.says)) << r;
  }
  // A port another server holds: refused at once, not a crash loop.
  Process holder;
  int held = free_port();
  ASSERT_TRUE(holder.spawn(
      {herd_bin_, "serve", "--foreground", site_, std::to_string(held), "--host", "127.0.0.1"},
      {"PATH=/usr/bin:/bin"}));
  ASSERT_TRUE(holder.pump_until([&] { return contains(holder.out(), "Exposing"); }, kWaitTimeout));
  CommandResult r = herd({"serve", site_, std::to_string(held), "--host", "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("Address already in use"));
  EXPECT_TRUE(jlist().empty());
}

}  // namespace
}  // namespace herd::e2e
