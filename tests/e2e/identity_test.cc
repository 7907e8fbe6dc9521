// Identity beyond PM2's keys (pm2_keys_test.cc has UserRunsTheAppAsThatAccount): an app run as
// an unprivileged account serves on a port below 1024 that the daemon bound for it, as with
// systemd's socket activation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Answers each connection on the socket herd passed as fd 3 with "uid <its uid>", after writing
// "listening" to $HERD_E2E_FILE. (No READY=1: the daemon's notify socket is in its private
// HERD_HOME, which another account cannot reach.)
bool answer_uid = test::register_role("answer_uid", [](int, char**) {
  const char* file = std::getenv(kFileVar);
  if (file == nullptr || std::getenv("LISTEN_FDS") == nullptr) return 2;
  write_file(file, "listening");
  std::string answer = "uid " + std::to_string(::getuid()) + "\n";
  for (;;) {
    pollfd p{3, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return 3;
    int c = ::accept4(3, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    [[maybe_unused]] ssize_t n = ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(c);
  }
});

// "Uid:\t65534\t65534\t65534\t65534" -> "65534" (the real uid).
std::string status_field(pid_t pid, const std::string& field) {
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("\n" + field + ":\t");
  if (at == std::string::npos) return "";
  at += field.size() + 3;
  return status.substr(at, status.find_first_of("\t\n", at) - at);
}

TEST_F(HerdTest, AnAppRunAsNobodyServesOnPort80ThatTheDaemonBound) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: only a root daemon runs apps as another user";
  if (!contains(read_file("/etc/passwd"), "\nnobody:")) GTEST_SKIP() << "no user nobody";
  // A folder nobody may write its report into.
  test::TempDir shared;
  ASSERT_EQ(::chmod(shared.path().c_str(), 0777), 0);
  std::string report = shared.path() + "/activation";
  CommandResult r =
      herd({"start", test_binary(), "-n", "web80", "--listen", "127.0.0.1:80", "--user", "nobody"},
           {{kRoleVar, "answer_uid"}, {kFileVar, report}});
  if (r.exit_code != 0 && contains(r.err, "Address already in use")) {
    GTEST_SKIP() << "port 80 is taken on this machine: " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("web80", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  Json inst = instance(list, "web80");
  pid_t pid = inst["pid"];
  std::string nobody = std::to_string(inst["pm2_env"]["uid"].get<int>());
  EXPECT_NE(nobody, "0");
  EXPECT_EQ(status_field(pid, "Uid"), nobody);
  ASSERT_TRUE(wait_for([&] { return read_file(report) == "listening"; }));
  std::string error;
  EXPECT_EQ(exchange(80, "", kWaitTimeout, &error), "uid " + nobody + "\n") << error;
}

}  // namespace
}  // namespace herd::e2e
