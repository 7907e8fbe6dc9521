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

// The identity an app runs as: the user's primary group unless one is given, and every group of
// the group file that lists the user (initgroups(3)'s list), each once.
TEST(Identity, ResolvesUserGroupAndSupplementaryGroups) {
  test::TempDir dir;
  std::string passwd = dir.file("passwd"), group = dir.file("group");
  test::write_file(passwd,
                   "root:x:0:0:root:/root:/bin/bash\n"
                   "alice:x:1000:1000:Alice:/home/alice:/bin/zsh\n"
                   "svc:x:998:998::/srv:\n");
  test::write_file(group,
                   "root:x:0:\n"
                   "# comment\n"
                   "alice:x:1000:\n"
                   "wheel:x:10:bob,alice\n"
                   "docker:x:999:alice\n"
                   "bad:x:zz:alice\n"
                   "svc:x:998:\n");
  auto a = resolve_identity("alice", "", passwd.c_str(), group.c_str());
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->uid, 1000u);
  EXPECT_EQ(a->gid, 1000u);
  EXPECT_EQ(a->groups, (std::vector<gid_t>{1000, 10, 999}));
  EXPECT_EQ(a->home, "/home/alice");
  EXPECT_EQ(a->shell, "/bin/zsh");

  auto by_numbers = resolve_identity("1000", "999", passwd.c_str(), group.c_str());
  ASSERT_TRUE(by_numbers) << by_numbers.error().message();
  EXPECT_EQ(by_numbers->name, "alice");
  EXPECT_EQ(by_numbers->gid, 999u);
  EXPECT_EQ(by_numbers->groups, (std::vector<gid_t>{999, 10}));

  auto svc = resolve_identity("svc", "wheel", passwd.c_str(), group.c_str());
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->gid, 10u);
  EXPECT_EQ(svc->shell, "/bin/sh");  // an empty shell field means /bin/sh

  auto nouser = resolve_identity("nobody-here", "", passwd.c_str(), group.c_str());
  ASSERT_FALSE(nouser);
  EXPECT_EQ(nouser.error().context(), "no user 'nobody-here' in " + passwd);
  auto nogroup = resolve_identity("alice", "staff", passwd.c_str(), group.c_str());
  ASSERT_FALSE(nogroup);
  EXPECT_EQ(nogroup.error().context(), "no group 'staff' in " + group);
  EXPECT_EQ(group_entry("docker", group.c_str())->members, std::vector<std::string>{"alice"});
  EXPECT_FALSE(group_entry("bad", group.c_str()).has_value());
}

}  // namespace
}  // namespace herd::manager
