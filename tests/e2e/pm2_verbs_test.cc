// PM2's verbs beyond start/stop (issue 20): ps, ls -m, id, pid, cleardump, reloadLogs, logs
// --format and --highlight, ecosystem/init, dashboard, send/attach. Each test says what PM2
// 7.0.4 does (checked with pm2 7.0.4, its source in lib/ read for the details) and where herd
// differs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One line to stdout and one to stderr every 50 ms, forever.
constexpr const char* kTicker =
    "i=0\n"
    "while :; do echo \"tick-$i tick\"; echo \"oops-$i\" >&2; i=$((i+1)); sleep 0.05; done\n";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Runs the test's commands from `dir`, back to the previous one at the end of the scope.
class InDir {
 public:
  explicit InDir(const std::string& dir) {
    char buf[4096];
    if (::getcwd(buf, sizeof(buf)) != nullptr) old_ = buf;
    EXPECT_EQ(::chdir(dir.c_str()), 0) << dir;
  }
  ~InDir() {
    if (!old_.empty()) (void)!::chdir(old_.c_str());
  }

 private:
  std::string old_;
};

// herd.log.
TEST_F(HerdTest, ReloadLogsReopensRenamedLogFiles) {
  ASSERT_EQ(herd({"start", write_script("app", kTicker)}).exit_code, 0);
  Json p = instance(jlist(), "app");
  std::string out = p["pm2_env"]["pm_out_log_path"], err = p["pm2_env"]["pm_err_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "tick-1 "); }));
  ASSERT_TRUE(wait_for([&] { return contains(read_file(err), "oops-1\n"); }));
  for (const std::string& f : {out, err, path("herd.log")}) {
    ASSERT_EQ(::rename(f.c_str(), (f + ".1").c_str()), 0) << f;
  }
  CommandResult r = herd({"reloadLogs"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("reopened 2 log file(s) and herd.log")) << r;
  // The next lines land in new files of the original names; the renamed ones stop growing.
  EXPECT_TRUE(wait_for([&] { return contains(read_file(out), "tick-"); })) << out;
  EXPECT_TRUE(wait_for([&] { return contains(read_file(err), "oops-"); })) << err;
  EXPECT_TRUE(wait_for([&] { return contains(read_file(path("herd.log")), "reloadLogs"); }));
  long renamed = file_size(out + ".1");
  ASSERT_TRUE(wait_for([&] { return lines_of(read_file(out)).size() >= 3; }));
  EXPECT_EQ(file_size(out + ".1"), renamed);
  EXPECT_EQ(herd({"reloadLogs", "app"}).exit_code, 1);
}

}  // namespace
}  // namespace herd::e2e
