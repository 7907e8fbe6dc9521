// What herd opens and what its apps inherit: no symlink is followed to a file herd writes or
// truncates, and an app gets exactly the descriptors herd means to pass.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

TEST_F(HerdTest, SymlinkAtLogPathIsNotFollowed) {
  std::string target = path("precious.txt");
  write_file(target, "precious\n");
  ASSERT_EQ(::mkdir(path("logs").c_str(), 0700) == 0 || errno == EEXIST, true);
  ASSERT_EQ(::symlink(target.c_str(), path("logs/sym-out.log").c_str()), 0);
  std::string user_log = path("user-out.log");
  ASSERT_EQ(::symlink(target.c_str(), user_log.c_str()), 0);

  std::string script = write_script("talk.sh", "echo spoken; echo spoken >&2; exec sleep 1000\n");
  CommandResult r = herd({"start", script, "--name", "sym"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", script, "--name", "user", "-o", user_log});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("sym", "online"));
  ASSERT_TRUE(wait_status("user", "online"));
  // herd.log says why each log cannot be opened.
  EXPECT_TRUE(wait_for([&] {
    std::string log = read_file(path("herd.log"));
    return log.find(path("logs/sym-out.log") + " is a symbolic link") != std::string::npos &&
           log.find(user_log + " is a symbolic link") != std::string::npos;
  })) << read_file(path("herd.log"));
  // The err logs, which are not symlinks, got their line: so the out lines were written (or
  // dropped) by now.
  EXPECT_TRUE(wait_for(
      [&] { return read_file(path("logs/sym-error.log")).find("spoken") != std::string::npos; }));
  EXPECT_NE(herd({"flush", "sym"}).exit_code, 0);
  herd({"flush", "user"});
  EXPECT_EQ(read_file(target), "precious\n");
  struct stat st;
  ASSERT_EQ(::lstat(path("logs/sym-out.log").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(HerdTest, SymlinkAtDumpTempPathIsNotFollowed) {
  std::string target = path("precious.txt");
  write_file(target, "precious\n");
  ASSERT_EQ(::symlink(target.c_str(), path("dump.json.tmp").c_str()), 0);
  std::string script = write_script("web.sh", "exec sleep 1000\n");
  ASSERT_EQ(herd({"start", script, "--name", "web"}).exit_code, 0);
  CommandResult r = herd({"save"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_file(target), "precious\n");
  EXPECT_THAT(read_file(path("dump.json")), HasSubstr("\"web\""));
}

}  // namespace
}  // namespace herd::e2e
