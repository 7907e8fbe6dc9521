// Rolling reload, live scaling, max_memory_restart and --update-env, through the real CLI:
// a 2-instance hello cluster is reloaded and scaled while a client sends requests without pause
// (none may fail); a replacement that crashes or never says it is ready leaves the old instance
// serving and `herd reload` exits 1 with the reason; a fork-mode app is restarted with a warning.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"
#include "herd/net/socket_activation.h"
#include "support/child_process.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- roles -----------------------------------------------------------------------------------

// Cluster mode app for the failure cases. What it does at start depends on the file
// $HERD_E2E_FILE.mode: "crash" exits 3 at once; "silent" serves but never says READY=1;
// anything else (or no file) says READY=1. It answers every connection on fd 3 with its pid.
bool reload_app = test::register_role("reload_app", [](int, char**) {
  std::string mode = read_file(env_or_empty(kFileVar) + ".mode");
  if (mode == "crash") return 3;
  if (mode != "silent" && !sd_notify("READY=1")) return 4;
  std::string answer = std::to_string(::getpid()) + "\n";
  for (;;) {
    pollfd p{3, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return 5;
    int c = ::accept4(3, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;  // another instance took it, or EINTR
    [[maybe_unused]] ssize_t n = ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(c);
  }
});

// Says READY=1, then waits for the file $HERD_E2E_FILE.<its pid>; then allocates 64 MiB, touches
// every page, writes the wall-clock time (ms) to $HERD_E2E_FILE.<pid>.crossed and waits.
bool memory_hog = test::register_role("memory_hog", [](int, char**) {
  if (!sd_notify("READY=1")) return 4;
  std::string base = env_or_empty(kFileVar) + "." + std::to_string(::getpid());
  if (!wait_for([&] { return file_exists(base); }, 120s, 10ms)) return 2;
  constexpr std::size_t kSize = 64u << 20;
  auto* block = static_cast<volatile char*>(std::malloc(kSize));
  if (block == nullptr) return 5;
  for (std::size_t i = 0; i < kSize; i += 4096) block[i] = 1;
  write_file(base + ".crossed", std::to_string(wall_ms()));
  for (;;) ::pause();
});

int port_of(const Json& process) {
  std::string address = process["pm2_env"]["listen"][0].get<std::string>();
  return std::atoi(address.substr(address.rfind(':') + 1).c_str());
}

std::vector<int> pids_of(const std::vector<Json>& list) {
  std::vector<int> out;
  for (const auto& p : list) out.push_back(p["pid"].get<int>());
  return out;
}

class ReloadTest : public HerdTest {
 protected:
  std::string hello() const { return herd_bin_.substr(0, herd_bin_.rfind('/')) + "/hello"; }

  // Starts build/bin/hello as `name` with `n` instances on a port herd picks; returns the port.
  int start_hello(const std::string& name, int n) {
    CommandResult r = herd({"start", hello(), "-n", name, "-i", std::to_string(n), "--listen",
                            "127.0.0.1:0", "--", "--host", "127.0.0.1", "--port", "0"});
    EXPECT_EQ(r.exit_code, 0) << r;
    Json list;
    EXPECT_TRUE(wait_status(name, "online", static_cast<std::size_t>(n), kWaitTimeout, &list))
        << list.dump(1);
    auto all = instances(list, name);
    return all.empty() ? 0 : port_of(all[0]);
  }

  // The pid answering a connection to the reload_app role.
  int answering_pid(int port) {
    std::string error;
    std::string answer = exchange(port, "", 10s, &error);
    EXPECT_EQ(error, "");
    return std::atoi(answer.c_str());
  }
};

// --- tests -----------------------------------------------------------------------------------

TEST_F(ReloadTest, ReloadUnderTrafficFailsNoRequest) {
  if (!file_exists(hello())) GTEST_SKIP() << hello() << " is not built";
  int port = start_hello("web", 2);
  ASSERT_GT(port, 0);
  auto before = instances(jlist(), "web");
  ASSERT_EQ(before.size(), 2u);
  std::vector<ProcId> old_processes;
  for (int pid : pids_of(before)) {
    auto id = proc_id(pid);
    ASSERT_TRUE(id.has_value()) << pid;
    old_processes.push_back(*id);
  }

  Traffic traffic(port);
  ASSERT_TRUE(traffic.wait_more(50)) << traffic.failures();
  CommandResult r = herd({"reload", "web"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("reloaded 2 process(es)"));
  EXPECT_THAT(r.err, Not(HasSubstr("warning")));
  // A second reload right away, while the first replacements are still young.
  CommandResult again = herd({"reload", "all", "--parallel", "2"});
  ASSERT_EQ(again.exit_code, 0) << again;
  ASSERT_TRUE(traffic.wait_more(50)) << traffic.failures();
  traffic.stop();
  EXPECT_EQ(traffic.failed(), 0) << traffic.failures();

  auto after = instances(jlist(), "web");
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    // Same slot (pm_id, NODE_APP_INSTANCE), new process, counted as reloads and restarts.
    EXPECT_EQ(after[k]["pm_id"], before[k]["pm_id"]);
    EXPECT_EQ(after[k]["pm2_env"]["NODE_APP_INSTANCE"], before[k]["pm2_env"]["NODE_APP_INSTANCE"]);
    EXPECT_NE(after[k]["pid"], before[k]["pid"]);
    EXPECT_EQ(after[k]["pm2_env"]["status"], "online");
    EXPECT_EQ(after[k]["reloads"], 2);
    EXPECT_EQ(after[k]["pm2_env"]["reloads"], 2);
    EXPECT_EQ(after[k]["pm2_env"]["restart_time"], 2);
    EXPECT_EQ(after[k]["pm2_env"]["created_at"], before[k]["pm2_env"]["created_at"]);
    EXPECT_EQ(after[k]["pm2_env"]["reloading"], false);
  }
  // The old processes are gone.
  for (const ProcId& p : old_processes) {
    EXPECT_TRUE(wait_for([&] { return dead(p); })) << p.pid;
  }
  expect_no_zombies();
}

TEST_F(ReloadTest, FailedReplacementKeepsTheOldInstanceServing) {
  std::string file = path("app");
  CommandResult r = herd({"start", test_binary(), "-n", "app", "-i", "2", "--listen", "127.0.0.1:0",
                          "--wait-ready", "--listen-timeout", "4000"},
                         {{kRoleVar, "reload_app"}, {kFileVar, file}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("app", "online", 2, kWaitTimeout, &list)) << list.dump(1);
  auto before = instances(list, "app");
  int port = port_of(before[0]);
  std::vector<int> old_pids = pids_of(before);

  // Never ready: the reload shows as in progress, then fails after listen_timeout.
  write_file(file + ".mode", "silent");
  auto reload = herd_background({"reload", "app"});
  ASSERT_TRUE(wait_jlist([](const Json& l) {
    auto all = instances(l, "app");
    return !all.empty() && all[0]["pm2_env"].value("reloading", false);
  })) << jlist().dump(1);
  CommandResult ls = herd({"ls"});
  EXPECT_THAT(ls.out, HasSubstr("reloading")) << ls;
  CommandResult describe = herd({"describe", "0"});
  EXPECT_THAT(describe.out, HasSubstr("in progress: replacement pid")) << describe;
  ASSERT_TRUE(reload->wait_exit(kCommandTimeout));
  EXPECT_EQ(reload->result().exit_code, 1) << reload->result();
  EXPECT_THAT(reload->result().err, HasSubstr("listen_timeout")) << reload->result();
  EXPECT_THAT(reload->result().err, HasSubstr("keeps serving")) << reload->result();

  auto check_unchanged = [&] {
    auto now = instances(jlist(), "app");
    ASSERT_EQ(now.size(), 2u);
    EXPECT_EQ(pids_of(now), old_pids);  // the second instance was not touched either
    for (const auto& p : now) {
      EXPECT_EQ(p["pm2_env"]["status"], "online");
      EXPECT_EQ(p["reloads"], 0);
      EXPECT_EQ(p["pm2_env"]["reloading"], false);
    }
    for (int i = 0; i < 6; ++i) {
      int pid = answering_pid(port);
      EXPECT_TRUE(pid == old_pids[0] || pid == old_pids[1]) << pid;
    }
  };
  check_unchanged();

  // Crashes at start: the reload fails at once with the exit code.
  write_file(file + ".mode", "crash");
  CommandResult crash = herd({"reload", "app"});
  EXPECT_EQ(crash.exit_code, 1) << crash;
  EXPECT_THAT(crash.err, HasSubstr("exited with code 3 before it was ready")) << crash;
  check_unchanged();

  // Healthy again: the reload goes through.
  write_file(file + ".mode", "ready");
  CommandResult ok = herd({"reload", "app"});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  auto after = instances(jlist(), "app");
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NE(after[k]["pid"].get<int>(), old_pids[k]);
    EXPECT_EQ(after[k]["reloads"], 1);
  }
  expect_no_zombies();
}

TEST_F(ReloadTest, ForkModeAppIsRestartedWithAWarning) {
  std::string script = write_script("worker.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "-n", "worker"}).exit_code, 0);
  Json before = instance(jlist(), "worker");
  CommandResult r = herd({"reload", "worker"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("warning: app 'worker' has no socket held by herd")) << r;
  EXPECT_THAT(r.err, HasSubstr("restarted, not reloaded")) << r;
  Json after = instance(jlist(), "worker");
  EXPECT_NE(after["pid"], before["pid"]);
  EXPECT_EQ(after["pm2_env"]["restart_time"], 1);
  EXPECT_EQ(after["reloads"], 0);

  CommandResult bad = herd({"reload", "worker", "--parallel", "0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("--parallel takes a number"));
  CommandResult unknown = herd({"reload", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("nope"));
}

TEST_F(ReloadTest, ScaleUpAndDownUnderTrafficFailsNoRequest) {
  if (!file_exists(hello())) GTEST_SKIP() << hello() << " is not built";
  int port = start_hello("web", 2);
  ASSERT_GT(port, 0);
  Traffic traffic(port);
  ASSERT_TRUE(traffic.wait_more(50)) << traffic.failures();
  Json list;
  auto scale = [&](const std::string& count, std::size_t want) {
    CommandResult r = herd({"scale", "web", count});
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_TRUE(wait_status("web", "online", want, kWaitTimeout, &list)) << list.dump(1);
    EXPECT_EQ(instances(list, "web").size(), want);
    ASSERT_TRUE(traffic.wait_more(50)) << traffic.failures();
  };
  scale("4", 4);
  scale("-3", 1);
  scale("+2", 3);
  scale("2", 2);
  traffic.stop();
  EXPECT_EQ(traffic.failed(), 0) << traffic.failures();
  // Scaling down stopped instances gracefully: hello exits 0 on SIGINT, so no SIGKILL was
  // needed (herd.log would say "did not exit within kill_timeout").
  EXPECT_THAT(read_file(path("herd.log")), Not(HasSubstr("kill_timeout")));
  std::vector<int> indexes;
  for (const auto& p : instances(list, "web")) {
    indexes.push_back(p["pm2_env"]["NODE_APP_INSTANCE"].get<int>());
  }
  EXPECT_EQ(indexes, (std::vector<int>{0, 1}));
  expect_no_zombies();
}

TEST_F(ReloadTest, MaxMemoryRestartReloadsWithinTwoSeconds) {
  std::string file = path("hog");
  CommandResult r = herd({"start", test_binary(), "-n", "hog", "--listen", "127.0.0.1:0",
                          "--max-memory-restart", "40M", "--wait-ready"},
                         {{kRoleVar, "memory_hog"}, {kFileVar, file}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json before = instance(jlist(), "hog");
  int pid = before["pid"].get<int>();
  ASSERT_GT(pid, 0);
  write_file(file + "." + std::to_string(pid), "go");
  std::string crossed = file + "." + std::to_string(pid) + ".crossed";
  ASSERT_TRUE(wait_for([&] { return !read_file(crossed).empty(); })) << "the role did not grow";
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        auto all = instances(l, "hog");
        return all.size() == 1 && all[0]["pid"].get<int>() != pid && all[0]["pid"].get<int>() > 0 &&
               all[0]["pm2_env"]["status"] == "online";
      },
      kWaitTimeout, &list))
      << list.dump(1);
  Json after = instance(list, "hog");
  EXPECT_EQ(after["pm2_env"]["restart_time"], 1);
  EXPECT_EQ(after["reloads"], 1);  // cluster mode: a graceful reload, not a kill
  // The replacement was spawned (pm_uptime) within 2 s of the memory crossing the limit.
  std::int64_t crossed_ms = std::atoll(read_file(crossed).c_str());
  std::int64_t spawned_ms = after["pm2_env"]["pm_uptime"].get<std::int64_t>();
  EXPECT_LE(spawned_ms - crossed_ms, 2000) << "crossed " << crossed_ms << " spawned " << spawned_ms;
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("is over max_memory_restart 40.0 MB"));
}

// PM2 7.0.4, checked with the same file and shells: at start the app's own variables (env +
// env_prod) win over the shell; `restart|reload NAME --update-env` lays the shell of now over the
// environment the process had, so the shell wins then (`NODE_ENV=x pm2 restart app
// --update-env`), and what the shell does not name stays. A restart through the file lays the
// file's variables on top again.
TEST_F(ReloadTest, UpdateEnvLaysTheShellOverTheEnvironmentAsPm2Does) {
  write_script("app.sh", "exec sleep 1000\n");
  write_file(path("ecosystem.json"), R"({"apps": [{"name": "web", "script": "app.sh",
    "env": {"A": "file", "P": "dev"}, "env_prod": {"P": "prod"}}]})");
  ASSERT_EQ(
      herd({"start", path("ecosystem.json"), "--env", "prod"}, {{"A", "shell1"}, {"B", "shell1"}})
          .exit_code,
      0);
  auto env = [&] { return instance(jlist(), "web")["pm2_env"]["env"]; };
  Json e = env();
  EXPECT_EQ(e.value("A", ""), "file");  // the app's own env wins over the shell at start
  EXPECT_EQ(e.value("B", ""), "shell1");
  EXPECT_EQ(e.value("P", ""), "prod");

  // Without --update-env the environment is frozen.
  ASSERT_EQ(herd({"restart", "web"}, {{"B", "ignored"}}).exit_code, 0);
  EXPECT_EQ(env().value("B", ""), "shell1");

  // restart --update-env: the shell of now over everything (PM2: A=shell2 P=shell2).
  ASSERT_EQ(herd({"restart", "web", "--update-env"},
                 {{"A", "shell2"}, {"B", "shell2"}, {"C", "new"}, {"P", "shell2"}})
                .exit_code,
            0);
  e = env();
  EXPECT_EQ(e.value("A", ""), "shell2");
  EXPECT_EQ(e.value("B", ""), "shell2");
  EXPECT_EQ(e.value("C", ""), "new");
  EXPECT_EQ(e.value("P", ""), "shell2");

  // reload --update-env does the same (fork mode: through a restart); what this shell does not
  // name stays as it was (PM2: A=shell2 C=new P=shell2).
  ASSERT_EQ(herd({"reload", "web", "--update-env"}, {{"B", "shell3"}}).exit_code, 0);
  e = env();
  EXPECT_EQ(e.value("A", ""), "shell2");
  EXPECT_EQ(e.value("B", ""), "shell3");
  EXPECT_EQ(e.value("C", ""), "new");
  EXPECT_EQ(e.value("P", ""), "shell2");
  // The process itself got it.
  pid_t pid = instance(jlist(), "web")["pid"].get<int>();
  std::string environ_text = read_file("/proc/" + std::to_string(pid) + "/environ");
  EXPECT_NE(environ_text.find(std::string("B=shell3\0", 9)), std::string::npos);
  EXPECT_NE(environ_text.find(std::string("A=shell2\0", 9)), std::string::npos);

  // Through the file: its variables on top again (PM2: A=file P=prod), the rest kept.
  ASSERT_EQ(herd({"restart", path("ecosystem.json"), "--env", "prod"}).exit_code, 0);
  e = env();
  EXPECT_EQ(e.value("A", ""), "file");
  EXPECT_EQ(e.value("C", ""), "new");
  EXPECT_EQ(e.value("P", ""), "prod");

  // A variable taken out of the file goes at the next restart through it (PM2 keeps it).
  write_file(path("ecosystem.json"), R"({"apps": [{"name": "web", "script": "app.sh",
    "env": {"P": "dev"}, "env_prod": {"P": "prod"}}]})");
  ASSERT_EQ(herd({"restart", path("ecosystem.json"), "--env", "prod"}).exit_code, 0);
  e = env();
  EXPECT_FALSE(e.contains("A")) << e.dump(1);
  EXPECT_EQ(e.value("C", ""), "new");
  EXPECT_EQ(e.value("P", ""), "prod");
}

}  // namespace
}  // namespace herd::e2e
