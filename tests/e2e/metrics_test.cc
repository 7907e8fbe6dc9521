// Metrics: `herd metrics` and the daemon's GET /metrics are valid Prometheus text (a strict
// parser here, and promtool when it is installed) and say what `herd jlist` says; the listener's
// port comes from HERD_METRICS_PORT or `herd daemon --metrics-port`, and bad or busy ports are
// reported.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>

#include "e2e/herd_fixture.h"
#include "e2e/prometheus_parse.h"
#include "e2e/traffic.h"

extern char** environ;

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr const char* kFamilies[][2] = {
    {"herd_process_cpu_seconds_total", "counter"}, {"herd_process_resident_memory_bytes", "gauge"},
    {"herd_process_restarts_total", "counter"},    {"herd_process_up", "gauge"},
    {"herd_process_uptime_seconds", "gauge"},      {"herd_reloads_total", "counter"},
};

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One HTTP/1.1 exchange with 127.0.0.1:`port`; everything the server sent until it closed.
std::string http(int port, const std::string& request) {
  std::string error;
  return exchange(port, request, 20s, &error);
}

std::string get_metrics(int port) {
  return http(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n");
}

std::string body_of(const std::string& reply) {
  auto end = reply.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : reply.substr(end + 4);
}

std::string promtool() {
  for (const char* p : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

class MetricsTest : public HerdTest {
 protected:
  // The port `herd ping` reports the metrics listener on; 0 when it reports none.
  int metrics_port() {
    CommandResult r = herd({"ping"});
    EXPECT_EQ(r.exit_code, 0) << r;
    const std::string marker = "metrics on http://127.0.0.1:";
    auto at = r.out.find(marker);
    if (at == std::string::npos) return 0;
    return std::atoi(r.out.c_str() + at + marker.size());
  }

  // The text parses strictly, declares every family, and passes `promtool check metrics`.
  void expect_valid(const std::string& text, const std::string& source, PromText* parsed) {
    std::string error;
    auto p = parse_prometheus(text, &error);
    ASSERT_TRUE(p.has_value()) << source << ": " << error << "\n" << text;
    for (const auto& [name, type] : kFamilies) {
      EXPECT_EQ(p->types[name], type) << source << ": " << name;
      EXPECT_FALSE(p->help[name].empty()) << source << ": no HELP for " << name;
    }
    *parsed = *p;
    std::string tool = promtool();
    if (tool.empty()) return;  // the strict parser above stands in for it
    std::string file = path("metrics.txt");
    write_file(file, text);
    Process check;
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    ASSERT_TRUE(
        check.spawn({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", tool, file}, env));
    ASSERT_TRUE(check.wait_exit(kCommandTimeout)) << "promtool did not finish";
    EXPECT_EQ(check.result().exit_code, 0) << source << ": promtool check metrics\n"
                                           << check.result() << "\n"
                                           << text;
  }

  // Whether two jlists agree on everything the metrics show (no sample between them).
  static bool same_sample(const Json& a, const Json& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i]["pid"] != b[i]["pid"] || a[i]["monit"]["memory"] != b[i]["monit"]["memory"] ||
          a[i]["monit"]["cpu_time_ms"] != b[i]["monit"]["cpu_time_ms"] ||
          a[i]["pm2_env"]["restart_time"] != b[i]["pm2_env"]["restart_time"] ||
          a[i]["pm2_env"]["status"] != b[i]["pm2_env"]["status"]) {
        return false;
      }
    }
    return true;
  }

  // Every instance of `list` against the metrics taken between t0 and t1 (wall seconds).
  static void expect_matches(const Json& list, const PromText& m, double t0, double t1,
                             const std::string& source) {
    ASSERT_FALSE(list.empty());
    for (const auto& p : list) {
      std::map<std::string, std::string> labels = {{"app", p["name"].get<std::string>()},
                                                   {"id", std::to_string(p["pm_id"].get<int>())}};
      std::string who = source + " " + p["name"].get<std::string>() + " id " +
                        std::to_string(p["pm_id"].get<int>());
      const Json& env = p["pm2_env"];
      EXPECT_EQ(m.value("herd_process_restarts_total", labels), env["restart_time"].get<double>())
          << who;
      EXPECT_EQ(m.value("herd_process_up", labels), env["status"] == "online" ? 1.0 : 0.0) << who;
      EXPECT_EQ(m.value("herd_process_resident_memory_bytes", labels),
                p["monit"]["memory"].get<double>())
          << who;
      auto cpu = m.value("herd_process_cpu_seconds_total", labels);
      ASSERT_TRUE(cpu.has_value()) << who;
      EXPECT_NEAR(*cpu, p["monit"]["cpu_time_ms"].get<double>() / 1000, 0.0005) << who;
      EXPECT_EQ(m.value("herd_reloads_total", labels), p.value("reloads", 0.0)) << who;
      auto uptime = m.value("herd_process_uptime_seconds", labels);
      ASSERT_TRUE(uptime.has_value()) << who;
      if (p["pid"].get<int>() > 0) {
        double started = env["pm_uptime"].get<double>() / 1000;
        EXPECT_GE(*uptime, t0 - started - 0.002) << who;
        EXPECT_LE(*uptime, t1 - started + 0.002) << who;
      } else {
        EXPECT_EQ(*uptime, 0) << who;
      }
    }
    // One sample per instance in each of these families (the diagnostics families have their
    // own, only where the figure is known: docs/diagnostics.md).
    std::size_t samples = 0;
    for (const auto& sample : m.samples) {
      for (const auto& family : kFamilies) samples += sample.name == family[0] ? 1 : 0;
    }
    EXPECT_EQ(samples, list.size() * std::size(kFamilies)) << source;
  }

  // Takes jlist, then the metrics from `fetch`, then jlist again, until both lists show the
  // same sample (the daemon samples once a second), and compares the metrics with it.
  void compare_with_jlist(const std::function<std::string()>& fetch, const std::string& source) {
    bool compared = wait_for([&] {
      Json before = jlist();
      double t0 = wall_seconds();
      std::string text = fetch();
      double t1 = wall_seconds();
      Json after = jlist();
      if (!same_sample(before, after)) return false;
      PromText m;
      expect_valid(text, source, &m);
      expect_matches(before, m, t0, t1, source);
      return true;
    });
    EXPECT_TRUE(compared) << "jlist never held still around a scrape of " << source;
  }
};

TEST_F(MetricsTest, MetricsAreValidPrometheusTextAndMatchJlist) {
  // The first command starts the daemon, and the daemon reads HERD_METRICS_PORT (0: any port).
  CommandResult r =
      herd({"start", write_script("steady", "exec sleep 1000\n"), "-i", "2", "--min-uptime", "100"},
           {{"HERD_METRICS_PORT", "0"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", write_script("halted", "exec sleep 1000\n"), "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(herd({"restart", "steady"}).exit_code, 0);
  ASSERT_EQ(herd({"stop", "halted"}).exit_code, 0);
  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        int sampled = 0;
        for (const auto& p : l) {
          if (p["pm2_env"]["status"] == "online" && p["monit"]["memory"].get<double>() > 0 &&
              p["pm2_env"]["restart_time"] == 1) {
            ++sampled;
          }
        }
        return sampled == 2;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  EXPECT_EQ(instance(list, "halted")["pm2_env"]["status"], "stopped");

  int port = metrics_port();
  ASSERT_GT(port, 0) << "herd ping names no metrics listener";
  std::string reply = get_metrics(port);
  ASSERT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_THAT(reply, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));

  compare_with_jlist([&] { return body_of(get_metrics(port)); }, "GET /metrics");
  compare_with_jlist(
      [&] {
        CommandResult m = herd({"metrics"});
        EXPECT_EQ(m.exit_code, 0) << m;
        return m.out;
      },
      "herd metrics");

  // Not /metrics: 404; not GET: 405.
  EXPECT_EQ(http(port, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(http(port, "DELETE /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405 ", 0), 0u);
}

TEST_F(MetricsTest, TheDaemonFlagStartsTheListener) {
  auto daemon = herd_background({"daemon", "--foreground", "--metrics-port", "0"});
  int port = 0;
  ASSERT_TRUE(wait_for([&] {
    if (!file_exists(path("herd.sock"))) return false;
    port = metrics_port();
    return port > 0;
  }));
  std::string reply = get_metrics(port);
  ASSERT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  PromText m;
  expect_valid(body_of(reply), "GET /metrics without apps", &m);
  EXPECT_TRUE(m.samples.empty());
  ASSERT_EQ(herd({"kill"}).exit_code, 0);
  EXPECT_TRUE(daemon->wait_exit(kWaitTimeout));
  EXPECT_EQ(daemon->result().exit_code, 0) << daemon->result();
}

TEST_F(MetricsTest, BadAndBusyPortsAreReported) {
  CommandResult r = herd({"ping"}, {{"HERD_METRICS_PORT", "90000"}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("HERD_METRICS_PORT takes a port number 0..65535"));
  EXPECT_FALSE(file_exists(path("herd.pid"))) << "a daemon started anyway";
  r = herd({"daemon", "--metrics-port", "http"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--metrics-port takes a port number 0..65535 (0: any free port), "
                               "not 'http'"));

  // A port someone else holds: the daemon runs without the listener and says why.
  int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string busy = std::to_string(ntohs(addr.sin_port));
  r = herd({"ping"}, {{"HERD_METRICS_PORT", busy}});
  ::close(holder);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("no metrics listener: bind 127.0.0.1:" + busy));
  r = herd({"start", write_script("still-works", "exec sleep 1000\n"), "--min-uptime", "100"});
  EXPECT_EQ(r.exit_code, 0) << r;
}

}  // namespace
}  // namespace herd::e2e
