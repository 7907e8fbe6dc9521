// What a person types is checked before it can do harm: app names (never a path outside
// HERD_HOME, never a target word), scale counts (no wrap-around, no silent delete), the flags
// of `ls`, and `save` of a daemon that has not restored yet (never wipes the dump).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

TEST_F(HerdTest, AppNamesAreValidatedAtEveryEntry) {
  std::string script = write_script("app.sh", "exec sleep 1000\n");
  // The CLI.
  for (const std::string& bad :
       std::vector<std::string>{"../../x", "a/b", "5", "all", "/re/", "line\nbreak", "esc\x1b[31m",
                                std::string(300, 'n'), ".."}) {
    SCOPED_TRACE(bad);
    CommandResult r = herd({"start", script, "--name", bad});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("not a valid app name")) << r;
  }
  // An ecosystem file.
  write_file(path("eco.json"),
             R"({"apps": [{"name": "../escape", "script": ")" + script + R"("}]})");
  CommandResult r = herd({"start", path("eco.json")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("not a valid app name")) << r;
  // Nothing was written outside HERD_HOME, and nothing runs.
  EXPECT_FALSE(file_exists(home_ + "/../x-out.log"));
  EXPECT_FALSE(file_exists(home_ + "/../escape-out.log"));
  EXPECT_TRUE(jlist().empty());
  // A script named like an id gets a valid default name.
  std::string five = write_script("5.sh", "exec sleep 1000\n");
  r = herd({"start", five});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_status("app-5", "online"));
}

TEST_F(HerdTest, AppNamesAreValidatedAtResurrect) {
  std::string script = write_script("app.sh", "exec sleep 1000\n");
  write_file(path("dump.json"), R"({"version": 1, "apps": [{"name": "../../evil", "script": ")" +
                                    script + R"("}, {"name": "good", "script": ")" + script +
                                    R"("}]})");
  CommandResult r = herd({"resurrect"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("not a valid app name")) << r;
  EXPECT_TRUE(wait_status("good", "online"));
  EXPECT_EQ(jlist().size(), 1u);
}

TEST_F(HerdTest, ScaleRefusesWrapAroundAndZero) {
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--name", "web", "-i", "2"}).exit_code, 0);
  ASSERT_TRUE(wait_status("web", "online", 2));
  for (const char* count :
       {"4294967297", "0", "-99999", "-2", "99999999999999999999", "1025", "+1023", "2x", "0x2"}) {
    SCOPED_TRACE(count);
    CommandResult r = herd({"scale", "web", count});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("scale")) << r;
  }
  Json list;
  ASSERT_TRUE(wait_status("web", "online", 2, kWaitTimeout, &list));
  EXPECT_EQ(instances(list, "web").size(), 2u);
  ASSERT_EQ(herd({"scale", "web", "3"}).exit_code, 0);
  EXPECT_TRUE(wait_status("web", "online", 3));
  ASSERT_EQ(herd({"scale", "web", "-2"}).exit_code, 0);
  EXPECT_TRUE(wait_jlist([](const Json& l) { return l.size() == 1; }));
  // A negative instance count that leaves nothing is refused, not run as 1.
  CommandResult r = herd({"start", script, "--name", "neg", "-i", "-100"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("instances")) << r;
}

TEST_F(HerdTest, LsRejectsUnknownFlags) {
  CommandResult r = herd({"ls", "--bogus"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
  EXPECT_EQ(herd({"ls"}).exit_code, 0);
}

TEST_F(HerdTest, SaveAfterDaemonCrashKeepsTheDump) {
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--name", "web"}).exit_code, 0);
  ASSERT_TRUE(wait_status("web", "online"));
  ASSERT_EQ(herd({"save"}).exit_code, 0);
  std::string saved = read_file(path("dump.json"));
  ASSERT_THAT(saved, HasSubstr("\"web\""));
  // The daemon dies: the keeper starts a new one, which restores what ran, so a save keeps it.
  pid_t d = daemon_pid();
  ASSERT_GT(d, 0);
  auto daemon = proc_id(d);
  ASSERT_TRUE(daemon);
  ::kill(d, SIGKILL);
  ASSERT_TRUE(wait_for([&] { return dead(*daemon); }));
  ASSERT_TRUE(wait_for([&] { return daemon_pid() > 0 && daemon_pid() != d; }));
  ASSERT_TRUE(wait_status("web", "online"));
  ASSERT_EQ(herd({"save"}).exit_code, 0);
  EXPECT_THAT(read_file(path("dump.json")), HasSubstr("\"web\""));
  saved = read_file(path("dump.json"));
  // A daemon that starts empty (after `herd kill`, or a reboot) must not save over the dump.
  ASSERT_EQ(herd({"kill"}).exit_code, 0);
  // A leftover temp file from a crash mid-save breaks nothing.
  write_file(path("dump.json.tmp"), "{\"apps\": [");
  for (int i = 0; i < 2; ++i) {
    CommandResult r = herd({"save"});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("herd resurrect")) << r;
  }
  EXPECT_EQ(read_file(path("dump.json")), saved);
  EXPECT_FALSE(file_exists(path("dump.json.tmp"))) << "the new daemon removed the leftover";
  CommandResult r = herd({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("web", "online"));
  // Saving now works, and the good copy is kept as .bak; no temp file is left.
  r = herd({"save"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_file(path("dump.json.bak")), saved);
  EXPECT_FALSE(file_exists(path("dump.json.tmp")));
  EXPECT_FALSE(file_exists(path("dump.json.bak.tmp")));
}

TEST_F(HerdTest, SaveForceAndResurrectOfAnEmptyDump) {
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  write_file(path("dump.json"),
             R"({"version": 1, "apps": [{"name": "web", "script": ")" + script + R"("}]})");
  CommandResult r = herd({"save", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(read_file(path("dump.json.bak")), HasSubstr("\"web\""));
  // Both dump.json and .bak must list no app for resurrect to find nothing.
  ASSERT_EQ(herd({"save", "--force"}).exit_code, 0);
  r = herd({"resurrect"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("nothing to resurrect")) << r;
}

TEST_F(HerdTest, AScriptPathThatIsNotUtf8IsRefusedWithAMessage) {
  std::string script = write_script(
      "bad\xff"
      "name.sh",
      "exec sleep 1000\n");
  CommandResult r = herd({"start", script});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("is not valid UTF-8")) << r;
  EXPECT_EQ(jlist(), Json::array());
}

}  // namespace
}  // namespace herd::e2e
