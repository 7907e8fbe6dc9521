// herd's bind library (src/inject/bind_preload.c) with Unix stream sockets: a relative path is
// sent to herd as an absolute one, and unlink()/unlinkat() leave alone the socket files herd
// holds for the app. The fake daemon and the fixture: inject_preload_util.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "inject_preload_util.h"

namespace herd::inject_test {
namespace {

TEST_F(InjectPreload, ARelativeUnixPathIsSentAbsolute) {
  std::string path = file("app.sock");
  // herd's socket at that path (bound before the library is active, as the daemon would).
  Fd herd_socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address at = addr(path);
  ASSERT_EQ(::bind(herd_socket.get(), at.data(), at.size()), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(herd_socket.get(), 16), 0);
  FakeDaemon daemon(give(herd_socket.get()));
  chdir_to_dir();
  activate(daemon.program_end());

  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un rel{};
  rel.sun_family = AF_UNIX;
  std::strcpy(rel.sun_path, "app.sock");
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 8);  // no NUL
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&rel), len), 0)
      << std::strerror(errno);
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].op, HERD_BIND_OP_BIND);
  EXPECT_EQ(reqs[0].v6only, -1);
  EXPECT_EQ(path_of(reqs[0]), path);
  EXPECT_EQ(reqs[0].addr_len, offsetof(sockaddr_un, sun_path) + path.size() + 1);
  EXPECT_EQ(id_of(s.get()), id_of(herd_socket.get()));
}

TEST_F(InjectPreload, UnlinkSkipsTheSocketFilesHerdHolds) {
  std::string held = file("held.sock");
  std::string other = file("other.sock");
  std::string regular = file("plain.txt");
  ASSERT_EQ(::mknod(held.c_str(), S_IFSOCK | 0600, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::mknod(other.c_str(), S_IFSOCK | 0600, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::mknod(regular.c_str(), S_IFREG | 0600, 0), 0) << std::strerror(errno);
  FakeDaemon daemon([&](const herd_bind_request& req) {
    Reply r;
    r.error = req.op == HERD_BIND_OP_HELD_PATH && path_of(req) == held ? 0 : ENOENT;
    return r;
  });
  chdir_to_dir();
  activate(daemon.program_end());

  errno = EDOM;
  EXPECT_EQ(::unlink(held.c_str()), 0);
  EXPECT_EQ(errno, EDOM);
  EXPECT_TRUE(exists(held));  // skipped: herd's socket stays reachable
  EXPECT_EQ(::unlinkat(AT_FDCWD, held.c_str(), 0), 0);
  EXPECT_TRUE(exists(held));
  EXPECT_EQ(::unlink("held.sock"), 0);  // relative: asked about as an absolute path
  EXPECT_TRUE(exists(held));
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r.op, HERD_BIND_OP_HELD_PATH);
    EXPECT_EQ(path_of(r), held);
    EXPECT_EQ(r.addr_len, offsetof(sockaddr_un, sun_path) + held.size() + 1);
  }

  EXPECT_EQ(::unlink(other.c_str()), 0);  // not herd's: removed
  EXPECT_FALSE(exists(other));
  EXPECT_EQ(daemon.requests().size(), 4u);

  // Not socket files: nothing asked.
  EXPECT_EQ(::unlink(regular.c_str()), 0);
  EXPECT_FALSE(exists(regular));
  EXPECT_EQ(::unlink(file("missing").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
  std::string sub = dir() + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  EXPECT_EQ(::unlinkat(AT_FDCWD, sub.c_str(), AT_REMOVEDIR), 0);
  EXPECT_FALSE(exists(sub));
  EXPECT_EQ(daemon.requests().size(), 4u);
}

// Two instances start at once: one unlinks the path before it listens while the other binds it
// through herd. An unlink that found nothing must not remove the file the other bind made.
TEST_F(InjectPreload, UnlinkOfAMissingPathLeavesAFileThatAppearsMeanwhile) {
  static std::string path;
  path = file("app.sock");
  FakeDaemon daemon([](const herd_bind_request&) {
    Reply r;
    r.error = ENOENT;  // herd holds nothing at that path for this instance's app
    return r;
  });
  activate(daemon.program_end());
  auto the_other_instance_binds = [] { ::mknod(path.c_str(), S_IFSOCK | 0600, 0); };

  herd_inject_after_stat_for_test = the_other_instance_binds;
  errno = 0;
  int rc = ::unlink(path.c_str());
  int unlink_errno = errno;
  herd_inject_after_stat_for_test = nullptr;
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(unlink_errno, ENOENT);
  EXPECT_TRUE(exists(path));
  EXPECT_TRUE(daemon.requests().empty());

  EXPECT_EQ(::unlink(path.c_str()), 0);  // a socket file herd does not hold: removed
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(daemon.requests().size(), 1u);

  herd_inject_after_stat_for_test = the_other_instance_binds;
  errno = 0;
  rc = ::unlinkat(AT_FDCWD, path.c_str(), 0);
  int unlinkat_errno = errno;
  herd_inject_after_stat_for_test = nullptr;
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(unlinkat_errno, ENOENT);
  EXPECT_TRUE(exists(path));
  EXPECT_EQ(daemon.requests().size(), 1u);
}

// The same race with a stale socket file left at the path: while this instance asks herd about
// it, the other instance removes it and binds through herd. The new file is herd's: it stays.
TEST_F(InjectPreload, UnlinkOfAStaleSocketFileLeavesTheOneThatReplacedItMeanwhile) {
  std::string path = file("app.sock");
  ASSERT_EQ(::mknod(path.c_str(), S_IFSOCK | 0600, 0), 0) << std::strerror(errno);
  struct stat stale {};
  ASSERT_EQ(::lstat(path.c_str(), &stale), 0);
  std::string fresh = file("fresh.sock");
  int asked = 0;
  FakeDaemon daemon([&](const herd_bind_request&) {
    Reply r;
    if (++asked == 1) {  // the other instance, while herd answers about the stale file
      // (not unlink(): in this process that is the library's, which waits for this answer)
      ::mknod(fresh.c_str(), S_IFSOCK | 0600, 0);
      ::rename(fresh.c_str(), path.c_str());
      r.error = ENOENT;
    }
    return r;  // then herd holds the path
  });
  activate(daemon.program_end());
  EXPECT_EQ(::unlink(path.c_str()), 0);
  struct stat now {};
  ASSERT_EQ(::lstat(path.c_str(), &now), 0) << "herd's socket file was removed";
  EXPECT_NE(now.st_ino, stale.st_ino);
  EXPECT_EQ(daemon.requests().size(), 2u);
}

}  // namespace
}  // namespace herd::inject_test
