// `herd startup`: the systemd unit as a pure function of its inputs, and its install/removal.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "cli/startup.h"
#include "logs_util.h"

namespace herd::cli {
namespace {

StartupOptions alice() {
  StartupOptions o;
  o.user = "alice";
  o.herd_home = "/home/alice/.herd";
  o.herd_path = "/usr/local/bin/herd";
  o.path_env = "/usr/local/bin:/usr/bin:/bin";
  return o;
}

TEST(StartupUnit, SystemdUnitForAUserAndHome) {
  auto unit = systemd_unit(alice());
  ASSERT_TRUE(unit.has_value()) << unit.error().message();
  EXPECT_EQ(*unit,
            "[Unit]\n"
            "Description=herd process manager for alice\n"
            "After=network.target\n"
            "\n"
            "[Service]\n"
            "Type=forking\n"
            "User=alice\n"
            "LimitNOFILE=infinity\n"
            "LimitNPROC=infinity\n"
            "LimitCORE=infinity\n"
            "Delegate=yes\n"
            "Environment=\"PATH=/usr/local/bin:/usr/bin:/bin\"\n"
            "Environment=\"HERD_HOME=/home/alice/.herd\"\n"
            "PIDFile=/home/alice/.herd/keeper.pid\n"
            "Restart=on-failure\n"
            "\n"
            "ExecStart=\"/usr/local/bin/herd\" resurrect\n"
            "ExecReload=\"/usr/local/bin/herd\" reload all\n"
            "ExecStop=\"/usr/local/bin/herd\" kill\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n");
  EXPECT_EQ(startup_unit_name("alice"), "herd-alice.service");
}

// PM2's --wait-ip (templates/init-scripts/systemd-online.tpl): After=network-online.target;
// herd adds the Wants= without which systemd does not wait for that target.
TEST(StartupUnit, WaitIpOrdersAfterNetworkOnline) {
  StartupOptions o = alice();
  o.wait_ip = true;
  auto unit = systemd_unit(o);
  ASSERT_TRUE(unit.has_value()) << unit.error().message();
  EXPECT_NE(unit->find("\nWants=network-online.target\nAfter=network-online.target\n\n"),
            std::string::npos)
      << *unit;
  EXPECT_EQ(unit->find("After=network.target"), std::string::npos) << *unit;
}

// PM2's --service-name names the unit file "<name>.service".
TEST(StartupUnit, ServiceNameNamesTheUnit) {
  EXPECT_EQ(service_unit_name("web").value_or(""), "web.service");
  EXPECT_EQ(service_unit_name("web.service").value_or(""), "web.service");
  EXPECT_EQ(service_unit_name("pm2-alice@x").value_or(""), "pm2-alice@x.service");
  for (const char* bad : {"", ".service", "a/b", "a b", "a\nb", "50%"}) {
    EXPECT_FALSE(service_unit_name(bad).has_value()) << bad;
  }
}

TEST(StartupUnit, QuotesSpacesQuotesAndPercentSigns) {
  StartupOptions o = alice();
  o.herd_home = "/srv/my apps/100%/.herd";
  o.herd_path = "/opt/the \"herd\"/herd";
  o.path_env = "";
  auto unit = systemd_unit(o);
  ASSERT_TRUE(unit.has_value()) << unit.error().message();
  EXPECT_NE(unit->find("Environment=\"HERD_HOME=/srv/my apps/100%%/.herd\"\n"), std::string::npos)
      << *unit;
  EXPECT_NE(unit->find("PIDFile=/srv/my apps/100%%/.herd/keeper.pid\n"), std::string::npos);
  EXPECT_NE(unit->find("ExecStart=\"/opt/the \\\"herd\\\"/herd\" resurrect\n"), std::string::npos)
      << *unit;
  EXPECT_EQ(unit->find("PATH="), std::string::npos);  // no PATH given: systemd's own
}

TEST(StartupUnit, RejectsWhatAUnitCannotCarry) {
  struct Case {
    StartupOptions options;
    const char* message;
  };
  StartupOptions relative_home = alice();
  relative_home.herd_home = ".herd";
  StartupOptions relative_bin = alice();
  relative_bin.herd_path = "build/bin/herd";
  StartupOptions newline = alice();
  newline.path_env = "/bin\nExecStartPre=/bin/evil";
  StartupOptions no_user = alice();
  no_user.user = "";
  StartupOptions odd_user = alice();
  odd_user.user = "al ice";
  const Case cases[] = {
      {relative_home, "HERD_HOME must be an absolute path, not '.herd'"},
      {relative_bin, "the herd binary must be an absolute path, not 'build/bin/herd'"},
      {newline, "PATH holds a line break, which a unit file cannot carry"},
      {no_user, "'' is not a user name"},
      {odd_user, "'al ice' is not a user name"},
  };
  for (const Case& c : cases) {
    auto unit = systemd_unit(c.options);
    ASSERT_FALSE(unit.has_value()) << c.message;
    EXPECT_EQ(unit.error().code(), EINVAL);
    EXPECT_EQ(unit.error().context(), c.message);
  }
}

TEST(StartupUnit, OnlySystemdIsKnown) {
  EXPECT_TRUE(check_init_system("systemd").has_value());
  for (const char* other : {"upstart", "launchd", "openrc", "systemv", ""}) {
    auto s = check_init_system(other);
    ASSERT_FALSE(s.has_value()) << other;
    EXPECT_EQ(s.error().code(), EINVAL);
    EXPECT_NE(s.error().context().find(std::string("'") + other + "' is not supported"),
              std::string::npos)
        << s.error().context();
  }
}

TEST(StartupUnit, InstallAndRemoveInADirectory) {
  manager::test::TempDir dir;
  std::string name = startup_unit_name("alice");
  mode_t old = ::umask(077);
  ASSERT_TRUE(install_unit(dir.path(), name, "[Unit]\n").has_value());
  ::umask(old);
  std::string path = dir.file(name);
  EXPECT_EQ(manager::test::read_file(path), "[Unit]\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_FALSE(manager::test::exists(path + ".tmp"));

  // Replacing is atomic and leaves one file.
  ASSERT_TRUE(install_unit(dir.path(), name, "[Unit]\nDescription=2\n").has_value());
  EXPECT_EQ(manager::test::read_file(path), "[Unit]\nDescription=2\n");

  // What `systemctl enable` adds is removed with the unit.
  std::string wants = dir.file("multi-user.target.wants");
  ASSERT_EQ(::mkdir(wants.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(path.c_str(), (wants + "/" + name).c_str()), 0);
  auto removed = remove_unit(dir.path(), name);
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(manager::test::exists(path));
  struct stat lst;
  EXPECT_NE(::lstat((wants + "/" + name).c_str(), &lst), 0);

  auto again = remove_unit(dir.path(), name);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);

  auto nowhere = install_unit(dir.file("missing-dir"), name, "x");
  ASSERT_FALSE(nowhere.has_value());
  EXPECT_EQ(nowhere.error().code(), ENOENT);
}

}  // namespace
}  // namespace herd::cli
