// Diagnostics for Node apps (docs/diagnostics.md, "For Node apps"): the code metrics herd's
// preload reports (describe, jlist, metrics), herd heapdump and herd profile, and their refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "e2e/cluster_mode_fixture.h"
#include "e2e/traffic.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Blocks its loop 200 ms every second; allocates (and keeps) a little more on every tick when
// HERD_E2E_FILE's file exists, so the test decides when the heap grows.
constexpr const char* kBlocker =
    "const fs = require('fs');\n"
    "const keep = [];\n"
    "setInterval(() => { const end = Date.now() + 200; while (Date.now() < end); }, 1000);\n"
    "setInterval(() => {\n"
    "  if (fs.existsSync(process.env.HERD_E2E_FILE))\n"
    "    for (let i = 0; i < 5; i++) keep.push(new Array(50000).fill(i));\n"
    "}, 100);\n";

// -1 until the first report: jlist has no code_metrics before it (and a const Json's [] of a
// missing key is undefined: an assertion in the sanitizer build).
double metric(const Json& p, const char* key) {
  auto env = p.find("pm2_env");
  if (env == p.end()) return -1;
  auto m = env->find("code_metrics");
  if (m == env->end() || !m->is_object()) return -1;
  auto v = m->find(key);
  return v != m->end() && v->is_number() ? v->get<double>() : -1;
}

class CodeMetricsTest : public ClusterModeTest {
 protected:
  void SetUp() override {
    ClusterModeTest::SetUp();
    if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  }
  // Starts `source` as a fork-mode Node app `name` and waits until it reports code metrics.
  Json start_reporting(const std::string& name, const std::string& source,
                       std::vector<std::string> extra = {}) {
    std::string app = node_app(name + ".js", source);
    std::vector<std::string> args = {"start", app, "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = herd(args, {{"HERD_E2E_FILE", path("grow")}});
    EXPECT_EQ(r.exit_code, 0) << r;
    Json last;
    EXPECT_TRUE(
        wait_jlist([&](const Json& l) { return metric(instance(l, name), "heap_used_bytes") > 0; },
                   20s, &last))
        << last.dump(1);
    return instance(last, name);
  }
};

// The check: a loop blocked 200 ms every second shows in the delay's max and p99, in
// jlist and in describe's "Code metrics value" table; the heap figures move when it allocates.
TEST_F(CodeMetricsTest, BlockedLoopShowsInDelayAndHeapMovesWithAllocation) {
  Json p = start_reporting("blocker", kBlocker);
  Json last;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        Json i = instance(l, "blocker");
        return metric(i, "loop_delay_max_ms") >= 200 && metric(i, "loop_delay_p99_ms") >= 150;
      },
      20s, &last))
      << last.dump(1);
  Json m = instance(last, "blocker")["pm2_env"]["code_metrics"];
  EXPECT_EQ(m["source"], "node");
  for (const char* key : {"heap_total_bytes", "external_bytes", "loop_delay_mean_ms",
                          "loop_delay_p50_ms", "loop_utilization", "active_handles",
                          "active_requests", "gc_pause_ms", "gc_count_total", "interval_ms"}) {
    EXPECT_TRUE(m.contains(key)) << key << " " << m.dump();
  }
  EXPECT_GT(m["loop_utilization"].get<double>(), 0.05) << m.dump();  // 20 % of it is blocked
  EXPECT_LE(m["loop_utilization"].get<double>(), 1.0);
  // PM2's shape for PM2's tools.
  EXPECT_TRUE(instance(last, "blocker")["pm2_env"]["axm_monitor"].contains("Used Heap Size"));

  CommandResult d = herd({"describe", "blocker"});
  EXPECT_EQ(d.exit_code, 0) << d;
  EXPECT_THAT(d.out, HasSubstr("Code metrics value"));
  EXPECT_THAT(d.out, HasSubstr("Used Heap Size"));
  EXPECT_THAT(d.out, HasSubstr("Event Loop Delay p50/p99/max"));

  // The heap grows once the app allocates (20 MB a second, kept).
  double before = metric(instance(last, "blocker"), "heap_used_bytes");
  write_file(path("grow"), "1");
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        return metric(instance(l, "blocker"), "heap_used_bytes") > before + 10e6;
      },
      20s, &last))
      << "before " << before << " " << last.dump(1);

  // /metrics names (docs/diagnostics.md).
  CommandResult pm = herd({"metrics"});
  EXPECT_THAT(pm.out, HasSubstr("herd_node_heap_used_bytes{app=\"blocker\",id=\"0\"}"));
  EXPECT_THAT(pm.out, HasSubstr("herd_node_eventloop_delay_p99_seconds{app=\"blocker\""));
  EXPECT_THAT(pm.out, HasSubstr("# TYPE herd_node_gc_pause_seconds_total counter"));
}

// inject: false leaves the preload out: no code metrics, and heapdump says why.
TEST_F(CodeMetricsTest, InjectFalseMeansNoPreload) {
  std::string app = node_app("plain.js", "setInterval(() => {}, 1000);\n");
  CommandResult r = herd({"start", app, "--name", "plain", "--no-inject"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("plain", "online"));
  Json p = instance(jlist(), "plain");
  EXPECT_THAT(p["pm2_env"]["args"].dump() + p["pm2_env"]["node_args"].dump(),
              ::testing::Not(HasSubstr("preload")));
  CommandResult h = herd({"heapdump", "plain", path("x.heapsnapshot")});
  EXPECT_NE(h.exit_code, 0) << h;
  EXPECT_THAT(h.err, HasSubstr("without herd's Node preload"));
  EXPECT_FALSE(file_exists(path("x.heapsnapshot")));
  EXPECT_FALSE(instance(jlist(), "plain")["pm2_env"].contains("code_metrics"));
}

// herd heapdump and herd profile write files DevTools reads: JSON with snapshot/nodes (heap) and
// nodes/samples (CPU profile); the app keeps running, same pid.
TEST_F(CodeMetricsTest, HeapdumpAndProfileWriteDevToolsFiles) {
  Json p =
      start_reporting("dumped", "setInterval(() => { JSON.stringify({a: [1, 2, 3]}); }, 5);\n");
  int pid = p["pid"];
  CommandResult h = herd({"heapdump", "dumped", path("app.heapsnapshot")});
  ASSERT_EQ(h.exit_code, 0) << h;
  EXPECT_THAT(h.out, HasSubstr(path("app.heapsnapshot")));
  Json heap = Json::parse(read_file(path("app.heapsnapshot")), nullptr, false);
  ASSERT_TRUE(heap.is_object()) << "not JSON";
  EXPECT_TRUE(heap.contains("snapshot"));
  EXPECT_TRUE(heap.contains("nodes"));
  EXPECT_TRUE(heap["nodes"].is_array());

  CommandResult c = herd({"profile", "dumped", "--cpu", "2s", path("app.cpuprofile")});
  ASSERT_EQ(c.exit_code, 0) << c;
  EXPECT_THAT(c.out, HasSubstr(path("app.cpuprofile")));
  Json cpu = Json::parse(read_file(path("app.cpuprofile")), nullptr, false);
  ASSERT_TRUE(cpu.is_object()) << "not JSON";
  EXPECT_TRUE(cpu["nodes"].is_array());
  EXPECT_TRUE(cpu["samples"].is_array());
  EXPECT_GT(cpu["samples"].size(), 0u);

  // A relative path (and none) is the command's directory's: run from the home.
  {
    InDir in(home_);
    CommandResult d = herd({"heapdump", "0"});
    EXPECT_EQ(d.exit_code, 0) << d;
    EXPECT_THAT(d.out, HasSubstr(home_ + "/dumped-0-"));
    CommandResult rel = herd({"heapdump", "dumped", "rel.heapsnapshot"});
    EXPECT_EQ(rel.exit_code, 0) << rel;
    EXPECT_GT(file_size(path("rel.heapsnapshot")), 0);
  }

  Json now = instance(jlist(), "dumped");
  EXPECT_EQ(now["pid"], pid);
  EXPECT_EQ(now["pm2_env"]["status"], "online");
  EXPECT_EQ(now["pm2_env"]["restart_time"], 0);
}

// Bad input: a clear error naming what is wrong, a non-zero exit, the app untouched.
TEST_F(CodeMetricsTest, BadInputIsRefusedAndTheAppUntouched) {
  Json p = start_reporting("target", "setInterval(() => {}, 1000);\n");
  int pid = p["pid"];
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  ::mkdir(path("locked").c_str(), 0500);
  std::vector<Case> cases = {
      {{"profile", "target", "--cpu", "0s", path("a.cpuprofile")}, "--cpu 0s"},
      {{"profile", "target", "--cpu", "10h", path("a.cpuprofile")}, "--cpu 10h"},
      {{"profile", "target", "--cpu", "10", path("a.cpuprofile")}, "give a unit"},
      {{"profile", "target", path("a.cpuprofile")}, "usage"},
      {{"heapdump", "target", "/nonexistent-dir/x.heapsnapshot"}, "does not exist"},
      {{"heapdump", "nosuchapp", path("b.heapsnapshot")}, "nosuchapp"},
  };
  // A folder the app may not write in: the app's own answer. (/proc refuses even root.)
  cases.push_back({{"heapdump", "target", "/proc/herd-test.heapsnapshot"}, "could not write"});
  cases.push_back(
      {{"profile", "target", "--cpu", "1s", "/proc/herd-test.cpuprofile"}, "could not write"});
  if (::geteuid() != 0) {
    cases.push_back({{"heapdump", "target", path("locked/x.heapsnapshot")}, "permission denied"});
  }
  write_file(path("exists.heapsnapshot"), "x");
  cases.push_back({{"heapdump", "target", path("exists.heapsnapshot")}, "already exists"});
  for (const Case& c : cases) {
    CommandResult r = herd(c.args);
    EXPECT_NE(r.exit_code, 0) << r;
    std::string err = r.err;
    std::transform(err.begin(), err.end(), err.begin(), ::tolower);
    std::string says = c.says;
    std::transform(says.begin(), says.end(), says.begin(), ::tolower);
    EXPECT_THAT(err, HasSubstr(says)) << r;
  }
  // A non-Node app and a stopped instance.
  std::string sh = write_script("loop.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", sh, "--name", "shell"}).exit_code, 0);
  ASSERT_TRUE(wait_status("shell", "online"));
  CommandResult n = herd({"heapdump", "shell", path("c.heapsnapshot")});
  EXPECT_NE(n.exit_code, 0) << n;
  EXPECT_THAT(n.err, HasSubstr("not a Node app"));
  ASSERT_EQ(herd({"stop", "shell"}).exit_code, 0);
  CommandResult s = herd({"profile", "shell", "--cpu", "1s", path("d.cpuprofile")});
  EXPECT_NE(s.exit_code, 0) << s;
  EXPECT_THAT(s.err, HasSubstr("stopped"));

  Json now = instance(jlist(), "target");
  EXPECT_EQ(now["pid"], pid);
  EXPECT_EQ(now["pm2_env"]["status"], "online");
  EXPECT_EQ(now["pm2_env"]["restart_time"], 0);
  for (const char* f : {"a.cpuprofile", "b.heapsnapshot", "c.heapsnapshot", "d.cpuprofile"}) {
    EXPECT_FALSE(file_exists(path(f))) << f;
  }
}

// What the app sends is untrusted: bad reports (out of bounds, ill-typed, deeply nested, huge)
// and made-up answers are dropped, the daemon stays up and answers. herd's requests never reach
// the program's own process.on('message'), and the preload does not keep a finished program
// alive.
TEST_F(CodeMetricsTest, ReportsAreUntrustedAndRequestsStayHidden) {
  Json p = start_reporting("liar",
                           "process.on('message', (m) => console.log('app got ' + "
                           "JSON.stringify(m)));\n"
                           "setInterval(() => {\n"
                           "  process.send({herd: 'metrics', heap_used_bytes: -5});\n"
                           "  process.send({herd: 'metrics', heap_used_bytes: 'lots'});\n"
                           "  process.send({herd: 'metrics', loop_utilization: 7});\n"
                           "  process.send({herd: 'metrics', x: [[[[[[[[1]]]]]]]]});\n"
                           "  process.send({herd: 'metrics', pad: 'y'.repeat(100000)});\n"
                           "  process.send({herd: 'heapdump', id: 1, file: '/etc/passwd'});\n"
                           "}, 50);\n");
  for (int i = 0; i < 20; ++i) {
    Json l = jlist();
    Json m = instance(l, "liar")["pm2_env"]["code_metrics"];
    ASSERT_TRUE(m.is_object());
    EXPECT_GT(m["heap_used_bytes"].get<double>(), 0);  // only the preload's own reports
    if (m.contains("loop_utilization")) {
      EXPECT_LE(m["loop_utilization"].get<double>(), 1.0);
    }
  }
  CommandResult h = herd({"heapdump", "liar", path("liar.heapsnapshot")});
  EXPECT_EQ(h.exit_code, 0) << h;
  EXPECT_GT(file_size(path("liar.heapsnapshot")), 0);
  std::string out = read_file(p["pm2_env"]["pm_out_log_path"]);
  EXPECT_EQ(out.find("NODE_HERD"), std::string::npos) << out;
  EXPECT_EQ(instance(jlist(), "liar")["pid"], p["pid"]);

  // A program that is done exits, preload or not.
  std::string done = node_app("done.js", "console.log('done');\n");
  ASSERT_EQ(herd({"start", done, "--name", "done", "--no-autorestart"}).exit_code, 0);
  EXPECT_TRUE(wait_status("done", "stopped"));
}

// A libherd program's HTTP server reports its requests and their latency the same way (on the
// notify socket): jlist, describe, /metrics.
TEST_F(ClusterModeTest, LibherdServerReportsRequestsAndLatency) {
  std::string hello = bin("hello");
  if (!file_exists(hello)) GTEST_SKIP() << hello << " is not built";
  int port = free_port();
  CommandResult r = herd({"start", hello, "--name", "lh"}, {{"PORT", std::to_string(port)}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("lh", "online"));
  constexpr int kRequests = 25;
  for (int i = 0; i < kRequests; ++i) {
    std::string error;
    std::string answer = exchange(port, "GET / HTTP/1.0\r\n\r\n", 5s, &error);
    ASSERT_EQ(error, "") << i;
  }
  Json last;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        Json m = instance(l, "lh")["pm2_env"]["code_metrics"];
        return m.is_object() && m.value("http_requests_total", 0) >= kRequests;
      },
      20s, &last))
      << last.dump(1);
  Json m = instance(last, "lh")["pm2_env"]["code_metrics"];
  EXPECT_EQ(m["source"], "libherd");
  EXPECT_EQ(m["http_requests_total"], kRequests);
  // Latency figures cover an interval with requests: one more request, then a report with them.
  std::string error;
  (void)exchange(port, "GET / HTTP/1.0\r\n\r\n", 5s, &error);
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        return instance(l, "lh")["pm2_env"]["code_metrics"].contains("http_latency_p99_ms");
      },
      20s, &last))
      << last.dump(1);
  CommandResult d = herd({"describe", "lh"});
  EXPECT_THAT(d.out, HasSubstr("HTTP Requests"));
  CommandResult pm = herd({"metrics"});
  EXPECT_THAT(pm.out, HasSubstr("herd_app_http_requests_total{app=\"lh\",id=\"0\"}"));
}

}  // namespace
}  // namespace herd::e2e
