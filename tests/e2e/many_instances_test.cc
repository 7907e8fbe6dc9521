// Hundreds of instances under one daemon (issue 18's scale, without timing anything): every
// instance is listed once with its own id, and `delete all` leaves no process and no descriptor
// behind in the daemon. bench/scale.sh measures the costs; this test holds the behaviour.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr int kApps = 30;
constexpr int kPerApp = 10;
constexpr int kTotal = kApps * kPerApp;

// Descriptors the process has open now (-1 when /proc cannot be read).
int open_fds(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

// The id column of `herd ls`'s table rows ("│ 12  │ name │ ..."), in order.
std::vector<std::string> listed_ids(const std::string& table) {
  std::vector<std::string> ids;
  std::istringstream in(table);
  std::string line;
  const std::string bar = "│";
  while (std::getline(in, line)) {
    if (line.rfind(bar, 0) != 0) continue;
    std::size_t end = line.find(bar, bar.size());
    if (end == std::string::npos) continue;
    std::string cell = line.substr(bar.size(), end - bar.size());
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(' ') + 1);
    if (cell != "id") ids.push_back(cell);
  }
  return ids;
}

class ManyInstancesTest : public HerdTest {};

TEST_F(ManyInstancesTest, ThreeHundredAreListedOnceAndDeleteAllLeavesNothingBehind) {
  ASSERT_EQ(herd({"ping"}).exit_code, 0);
  pid_t daemon = daemon_pid();
  ASSERT_GT(daemon, 0);
  const int idle_fds = open_fds(daemon);
  ASSERT_GT(idle_fds, 0);

  Json apps = Json::array();
  for (int a = 0; a < kApps; ++a) {
    apps.push_back({{"name", "many-" + std::to_string(a) + "-app"},
                    {"script", "/bin/sleep"},
                    {"args", "3600"},
                    {"exec_mode", "fork"},
                    {"instances", kPerApp}});
  }
  write_file(path("eco.json"), Json{{"apps", apps}}.dump());
  CommandResult r = herd({"start", path("eco.json")}, {}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r;

  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        if (l.size() != static_cast<std::size_t>(kTotal)) return false;
        for (const Json& p : l) {
          if (p["pm2_env"]["status"] != "online") return false;
        }
        return true;
      },
      120s, &list))
      << list.size() << " listed";

  // jlist: each instance once, ids unique, every app with its ten, every pid alive and its own.
  std::set<int> ids;
  std::set<int> pids;
  std::map<std::string, int> per_app;
  for (const Json& p : list) {
    ids.insert(p["pm_id"].get<int>());
    pids.insert(p["pid"].get<int>());
    ++per_app[p["name"].get<std::string>()];
    EXPECT_TRUE(p["pm2_env"].contains("env")) << "the full jlist carries the environment";
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(pids.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(per_app.size(), static_cast<std::size_t>(kApps));
  for (const auto& [name, n] : per_app) EXPECT_EQ(n, kPerApp) << name;
  for (int pid : pids) EXPECT_EQ(::kill(pid, 0), 0) << "pid " << pid << " listed but not alive";

  // ls (which asks for the brief list): one row per instance, the same ids.
  r = herd({"ls"}, {}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> rows = listed_ids(r.out);
  EXPECT_EQ(rows.size(), static_cast<std::size_t>(kTotal));
  std::set<std::string> row_ids(rows.begin(), rows.end());
  EXPECT_EQ(row_ids.size(), static_cast<std::size_t>(kTotal)) << "an id listed twice";
  for (int id : ids) EXPECT_TRUE(row_ids.count(std::to_string(id))) << "id " << id << " not in ls";

  r = herd({"delete", "all"}, {}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(jlist().size(), 0u);
  for (int pid : pids) {
    EXPECT_TRUE(wait_for([pid] { return ::kill(pid, 0) != 0; }, 30s))
        << "pid " << pid << " still alive after delete all";
  }
  int fds = -1;
  EXPECT_TRUE(wait_for(
      [&] {
        fds = open_fds(daemon);
        return fds >= 0 && fds <= idle_fds;
      },
      30s))
      << "the daemon holds " << fds << " descriptors after delete all, " << idle_fds << " idle";
  EXPECT_EQ(herd({"ping"}).exit_code, 0) << "the daemon is still up";
}

}  // namespace
}  // namespace herd::e2e
