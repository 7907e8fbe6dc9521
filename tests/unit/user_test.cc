// Account lookups from the passwd file (manager/user.h).
#include "daemon/user.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "logs_util.h"

namespace herd::manager {
namespace {

TEST(PasswdEntry, FindsByUidAndByNameSkippingCommentsAndMalformedLines) {
  test::TempDir dir;
  std::string path = dir.file("passwd");
  test::write_file(path,
                   "# a comment\n"
                   "\n"
                   "root:x:0:0:root:/root:/bin/bash\n"
                   "broken line without colons\n"
                   "baduid:x:12a:100::/home/baduid:/bin/sh\n"
                   "+nisuser::::::\n"
                   "alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\n"
                   "bob:x:1001:1001::/srv/bob dir:/bin/sh\n");
  auto root = passwd_entry(0, path.c_str());
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->name, "root");
  EXPECT_EQ(root->home, "/root");

  auto alice = passwd_entry(1000, path.c_str());
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->home, "/home/alice");

  auto bob = passwd_entry(std::string("bob"), path.c_str());
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->uid, 1001u);
  EXPECT_EQ(bob->home, "/srv/bob dir");

  EXPECT_FALSE(passwd_entry(4242, path.c_str()).has_value());
  EXPECT_FALSE(passwd_entry(std::string("baduid"), path.c_str()).has_value());
  EXPECT_FALSE(passwd_entry(std::string("nisuser"), path.c_str()).has_value());
  EXPECT_FALSE(passwd_entry(std::string("+nisuser"), path.c_str()).has_value());
  EXPECT_FALSE(passwd_entry(0, dir.file("missing").c_str()).has_value());
}

TEST(PasswdEntry, TheRealFileKnowsWhoRunsTheTest) {
  // Every account that runs the tests here has a local entry (containers and CI included).
  auto me = passwd_entry(::geteuid());
  ASSERT_TRUE(me.has_value());
  EXPECT_FALSE(me->name.empty());
  EXPECT_EQ(me->uid, ::geteuid());
}

}  // namespace
}  // namespace herd::manager
