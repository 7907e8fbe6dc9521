// Diagnostics for every app (docs/diagnostics.md): the memory trend and its `leak?` mark, and
// the load shares of a cluster-mode app with its `imbalance` mark, through jlist, ls, describe
// and metrics. The memory apps are roles of this binary (diagnostics_roles.cc); the cluster app
// is load_server.c, a plain program into which herd preloads its bind library.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "e2e/cluster_mode_fixture.h"
#include "e2e/traffic.h"

namespace herd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr double kMiB = 1024.0 * 1024.0;

// pm2_env.diagnostics.<part> of a jlist element (a copy: callers pass temporaries).
Json diag(const Json& p, const char* part) {
  return p.value("pm2_env", Json::object())
      .value("diagnostics", Json::object())
      .value(part, Json::object());
}

bool leak_of(const Json& list, const std::string& name) {
  for (const auto& p : HerdTest::instances(list, name)) {
    if (diag(p, "memory").value("leak", false)) return true;
  }
  return false;
}

class DiagnosticsTest : public ClusterModeTest {
 protected:
  // Polls jlist every 500 ms (a test of several seconds should not fork herd 50 times a second)
  // until `done` holds, at most `timeout`; `last` gets the last list.
  bool poll(const std::function<bool(const Json&)>& done, Ms timeout, Json* last) {
    return wait_for(
        [&] {
          *last = jlist();
          return done(*last);
        },
        timeout, 500ms);
  }
};

TEST_F(DiagnosticsTest, ALeakIsMarkedWithItsRateAFlatAppAndASawtoothAreNot) {
  for (auto [name, role] : {std::pair{"leak", "mem_leak"}, std::pair{"steady", "mem_steady"},
                            std::pair{"saw", "mem_sawtooth"}}) {
    std::vector<std::string> args = {"start", test_binary(),     "--name",
                                     name,    "--memory-window", "20s"};
    if (std::string(name) == "leak") args.insert(args.end(), {"--max-memory-restart", "2G"});
    CommandResult r = herd(args, {{kRoleVar, role}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Marked once the whole 20 s window (after its 5 s warm-up) is covered; never the others.
  bool others_marked = false;
  Json list;
  bool marked = poll(
      [&](const Json& l) {
        others_marked = others_marked || leak_of(l, "steady") || leak_of(l, "saw");
        return leak_of(l, "leak");
      },
      120s, &list);
  ASSERT_TRUE(marked) << list.dump(2);
  EXPECT_FALSE(others_marked) << list.dump(2);

  Json leak = instance(list, "leak");
  Json m = diag(leak, "memory");
  ASSERT_TRUE(m["growth_bytes_per_s"].is_number()) << m.dump();
  double slope = m["growth_bytes_per_s"].get<double>();
  EXPECT_GT(slope, 0.8 * kMiB) << m.dump();
  EXPECT_LT(slope, 1.2 * kMiB) << m.dump();
  EXPECT_GE(m["covered_ms"].get<std::uint64_t>(), 18'000u);
  // The projection to max_memory_restart (2 GiB) at that rate.
  ASSERT_TRUE(m["seconds_to_limit"].is_number()) << m.dump();
  double expected = (2 * 1024 * kMiB - leak["monit"]["memory"].get<double>()) / slope;
  EXPECT_NEAR(m["seconds_to_limit"].get<double>(), expected, expected * 0.2) << m.dump();

  // The others had the same time: slopes known, no mark.
  for (const char* name : {"steady", "saw"}) {
    Json o = diag(instance(list, name), "memory");
    EXPECT_FALSE(o["leak"].get<bool>()) << name << ": " << o.dump();
    EXPECT_TRUE(o["growth_bytes_per_s"].is_number()) << name << ": " << o.dump();
  }
  EXPECT_LT(std::fabs(diag(instance(list, "steady"), "memory")["growth_bytes_per_s"].get<double>()),
            64 * 1024.0);

  // ls marks it, describe explains it, metrics export it.
  CommandResult ls = herd({"ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  std::size_t at = ls.out.find("leak?");
  ASSERT_NE(at, std::string::npos) << ls.out;
  EXPECT_EQ(ls.out.find("leak?", at + 1), std::string::npos) << ls.out;
  std::string row = ls.out.substr(ls.out.rfind('\n', at) + 1);
  EXPECT_NE(row.substr(0, row.find('\n')).find("leak"), std::string::npos) << ls.out;
  CommandResult describe = herd({"describe", "leak"});
  EXPECT_NE(describe.out.find("memory growth"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("yes: grew steadily"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("memory limit in"), std::string::npos) << describe.out;
  CommandResult metrics = herd({"metrics"});
  EXPECT_NE(metrics.out.find("herd_process_memory_growth_bytes_per_second{app=\"leak\",id=\"0\"}"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("herd_process_memory_leak_suspected{app=\"leak\",id=\"0\"} 1"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("herd_process_memory_leak_suspected{app=\"saw\",id=\"2\"} 0"),
            std::string::npos)
      << metrics.out;
}

TEST_F(DiagnosticsTest, MemoryWindowIsCheckedAtTheEdge) {
  CommandResult r =
      herd({"start", test_binary(), "--memory-window", "1s"}, {{kRoleVar, "mem_steady"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--memory-window '1s'"), std::string::npos) << r.err;
  r = herd({"start", test_binary(), "--memory-leak-threshold", "0"}, {{kRoleVar, "mem_steady"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--memory-leak-threshold '0'"), std::string::npos) << r.err;
  r = herd({"start", test_binary(), "--load-window", "2h"}, {{kRoleVar, "mem_steady"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--load-window '2h'"), std::string::npos) << r.err;
  EXPECT_EQ(jlist().size(), 0u);
}

// The connection shares of `name`'s two instances, by index; empty until both are reported.
std::vector<double> shares_of(const Json& list, const std::string& name) {
  std::vector<double> shares(2, -1);
  for (const auto& p : HerdTest::instances(list, name)) {
    Json share = diag(p, "load").value("connection_share", Json());
    int index = p["pm2_env"]["NODE_APP_INSTANCE"].get<int>();
    if (!share.is_number() || index < 0 || index > 1) return {};
    shares[index] = share.get<double>();
  }
  return shares[0] < 0 || shares[1] < 0 ? std::vector<double>{} : shares;
}

bool imbalance_of(const Json& list, const std::string& name, int index) {
  for (const auto& p : HerdTest::instances(list, name)) {
    if (p["pm2_env"]["NODE_APP_INSTANCE"].get<int>() == index) {
      return diag(p, "load").value("imbalance", false);
    }
  }
  return false;
}

TEST_F(DiagnosticsTest, ASlowInstanceLeavesTheConnectionsToTheOtherAndIsShownAsImbalance) {
  int port = free_port();
  // Instance 0 sleeps 5 ms per request; instance 1 answers at once.
  start_online({"start", bin("load_server"), "-n", "web", "-i", "2", "--load-window", "10s", "--",
                std::to_string(port), "0"},
               "web", 2);
  Traffic a(port), b(port);
  Json list;
  bool shown = poll(
      [&](const Json& l) {
        return imbalance_of(l, "web", 1) && shares_of(l, "web").size() == 2 &&
               shares_of(l, "web")[1] > 2.0 / 3;
      },
      90s, &list);
  a.stop();
  b.stop();
  ASSERT_TRUE(shown) << list.dump(2);
  EXPECT_EQ(a.failed() + b.failed(), 0) << a.failures() << b.failures();
  auto shares = shares_of(list, "web");
  EXPECT_LT(shares[0], 1.0 / 3);
  EXPECT_FALSE(imbalance_of(list, "web", 0));
  for (const auto& p : instances(list, "web")) {
    Json load = diag(p, "load");
    EXPECT_GT(load["accepted_total"].get<std::uint64_t>(), 0u) << load.dump();
    EXPECT_TRUE(load["cpu_share"].is_number() || load["cpu_share"].is_null()) << load.dump();
  }

  CommandResult ls = herd({"ls"});
  EXPECT_NE(ls.out.find("imbalance"), std::string::npos) << ls.out;
  CommandResult describe = herd({"describe", "web"});
  EXPECT_NE(describe.out.find("connection share"), std::string::npos) << describe.out;
  CommandResult metrics = herd({"metrics"});
  EXPECT_NE(metrics.out.find("herd_process_connection_share{app=\"web\",id=\"1\"}"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("# TYPE herd_process_accepted_connections_total counter"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("herd_process_load_imbalance{app=\"web\",id=\"1\"} 1"),
            std::string::npos)
      << metrics.out;
}

TEST_F(DiagnosticsTest, TwoEqualInstancesShareTheConnectionsRoughlyEvenly) {
  int port = free_port();
  start_online({"start", bin("load_server"), "-n", "even", "-i", "2", "--load-window", "10s", "--",
                std::to_string(port), "-1"},
               "even", 2);
  Traffic a(port), b(port);
  auto began = std::chrono::steady_clock::now();
  // A full window of traffic with enough connections for a verdict.
  Json list;
  bool measured = poll(
      [&](const Json& l) {
        std::uint64_t total = 0;
        for (const auto& p : instances(l, "even")) {
          total += diag(p, "load").value("accepted_in_window", std::uint64_t{0});
        }
        return total >= 200 && shares_of(l, "even").size() == 2 &&
               std::chrono::steady_clock::now() - began >= 12s;
      },
      90s, &list);
  a.stop();
  b.stop();
  ASSERT_TRUE(measured) << list.dump(2);
  auto shares = shares_of(list, "even");
  for (double s : shares) {
    EXPECT_GT(s, 0.15) << list.dump(2);
    EXPECT_LT(s, 0.85) << list.dump(2);
  }
  EXPECT_NEAR(shares[0] + shares[1], 1.0, 0.01);
}

}  // namespace
}  // namespace herd::e2e
