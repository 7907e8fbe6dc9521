// BindChannel: the daemon's end of an instance's bind channel. The test plays the instance on the
// child end, byte for byte as src/inject/bind_preload.c would, and checks the answers: the
// socket a ListenSet holds for a valid BIND, EINVAL for anything malformed (which never reaches
// the handlers), and a quiet stop when the instance hangs up.
//
// Malformed requests and what a peer should not send: bind_channel_malformed_test.cc; the
// helpers and the fixture: bind_channel_util.h.
#include "daemon/cluster_mode/bind_channel.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "bind_channel_util.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "support/wait.h"

namespace herd::manager::bind_channel_test {
namespace {

struct StatId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const StatId&) const = default;
};

StatId id_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  return {st.st_dev, st.st_ino};
}

// The descriptors this process's epoll instances watch (from /proc/self/fdinfo).
std::set<int> epoll_watched() {
  std::set<int> out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  std::vector<std::string> epolls;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[256] = {};
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n > 0 && std::string(target, static_cast<std::size_t>(n)) == "anon_inode:[eventpoll]") {
      epolls.emplace_back(e->d_name);
    }
  }
  ::closedir(dir);
  for (const auto& ep : epolls) {
    std::ifstream info("/proc/self/fdinfo/" + ep);
    std::string line;
    while (std::getline(info, line)) {
      int fd = -1;
      if (std::sscanf(line.c_str(), "tfd: %d", &fd) == 1) out.insert(fd);
    }
  }
  return out;
}

TEST_F(BindChannelTest, TheChildEndBlocks) {
  // The program's calls wait for herd's answer: its end must not be non-blocking.
  int flags = ::fcntl(child.get(), F_GETFL);
  ASSERT_GE(flags, 0);
  EXPECT_EQ(flags & O_NONBLOCK, 0);
  int type = 0;
  socklen_t len = sizeof(type);
  ASSERT_EQ(::getsockopt(child.get(), SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_SEQPACKET);
}

TEST_F(BindChannelTest, BindIsAnsweredWithTheSetsSocket) {
  Address wanted = addr("127.0.0.1:" + std::to_string(free_port()));
  Answer a = ask(loop, child.get(), request(HERD_BIND_OP_BIND, wanted, 1));
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.reply.magic, HERD_BIND_MAGIC);
  EXPECT_EQ(a.reply.error, 0);
  ASSERT_TRUE(a.fd.valid());
  EXPECT_EQ(binds, 1);
  EXPECT_EQ(last_bind, wanted);
  EXPECT_EQ(last_v6only, -1);  // IPv4: the request's v6only is not passed on
  // A copy of the very socket the set holds.
  ASSERT_EQ(set.addresses().size(), 1u);
  auto held = set.acquire(wanted, -1);
  ASSERT_TRUE(held.has_value());
  EXPECT_NE(a.fd.get(), *held);
  EXPECT_EQ(id_of(a.fd.get()), id_of(*held));
  auto local = Address::local_of(a.fd.get());
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(*local, wanted);

  // Asked again (another instance binding the same port): the same socket.
  Answer b = ask(loop, child.get(), request(HERD_BIND_OP_BIND, wanted));
  ASSERT_TRUE(b.got);
  EXPECT_EQ(b.reply.error, 0);
  ASSERT_TRUE(b.fd.valid());
  EXPECT_EQ(id_of(b.fd.get()), id_of(*held));
  EXPECT_EQ(binds, 2);
}

TEST_F(BindChannelTest, AnIpv6BindPassesItsV6only) {
  Answer a = ask(loop, child.get(), request(HERD_BIND_OP_BIND, addr("[::1]:1"), 1));
  // Whatever the machine says about binding [::1]:1 (EACCES, EADDRNOTAVAIL, or a socket), the
  // handler saw the program's IPV6_V6ONLY.
  ASSERT_TRUE(a.got);
  EXPECT_EQ(binds, 1);
  EXPECT_EQ(last_v6only, 1);
}

TEST_F(BindChannelTest, ABindErrorIsTheErrnoWithoutADescriptor) {
  std::uint16_t port = free_port();
  ListenSet other_app;
  ASSERT_TRUE(other_app.acquire(addr("127.0.0.1:" + std::to_string(port)), -1).has_value());
  Answer a =
      ask(loop, child.get(), request(HERD_BIND_OP_BIND, addr("127.0.0.1:" + std::to_string(port))));
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.reply.magic, HERD_BIND_MAGIC);
  EXPECT_EQ(a.reply.error, EADDRINUSE);
  EXPECT_FALSE(a.fd.valid());
  EXPECT_EQ(binds, 1);
}

TEST_F(BindChannelTest, ListeningCallsTheListeningHandler) {
  Address wanted = addr("127.0.0.1:" + std::to_string(free_port()));
  Answer bound = ask(loop, child.get(), request(HERD_BIND_OP_BIND, wanted));
  ASSERT_TRUE(bound.got);
  ASSERT_EQ(bound.reply.error, 0);

  herd_bind_request req = request(HERD_BIND_OP_LISTENING, wanted);
  req.backlog = 5;
  Answer a = ask(loop, child.get(), req);
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.reply.error, 0);
  EXPECT_FALSE(a.fd.valid());
  EXPECT_EQ(listenings, 1);
  EXPECT_EQ(last_listening, wanted);
  EXPECT_EQ(binds, 1);

  // Without an address (getsockname failed in the program): still the instance listening.
  herd_bind_request bare = request(HERD_BIND_OP_LISTENING, Address());
  Answer b = ask(loop, child.get(), bare);
  ASSERT_TRUE(b.got);
  EXPECT_EQ(b.reply.error, 0);
  EXPECT_EQ(listenings, 2);
  EXPECT_EQ(last_listening.family(), AF_UNSPEC);
}

TEST_F(BindChannelTest, TheListeningHandlerMayDestroyTheChannel) {
  // What the instance going online sets off may drop its channel (the header allows it): the
  // answer went out first.
  destroy_on_listening = true;
  Answer a = ask(loop, child.get(), request(HERD_BIND_OP_LISTENING, Address()));
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.reply.error, 0);
  EXPECT_EQ(listenings, 1);
  EXPECT_EQ(channel, nullptr);
  // The channel's end is closed with it: the instance sees the hang-up.
  char byte;
  EXPECT_EQ(::recv(child.get(), &byte, 1, MSG_DONTWAIT), 0);
  loop.run(RunMode::kNoWait);
}

TEST_F(BindChannelTest, HeldPathSaysWhetherTheSetHoldsTheSocketFile) {
  char tmpl[] = "/tmp/herd-bind-channel-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string path = dir + "/app.sock";
  std::string other = dir + "/other.sock";

  Answer bound = ask(loop, child.get(), request(HERD_BIND_OP_BIND, addr(path)));
  ASSERT_TRUE(bound.got);
  EXPECT_EQ(bound.reply.error, 0);
  EXPECT_TRUE(bound.fd.valid());

  Answer held = ask(loop, child.get(), request(HERD_BIND_OP_HELD_PATH, addr(path)));
  ASSERT_TRUE(held.got);
  EXPECT_EQ(held.reply.error, 0);
  EXPECT_FALSE(held.fd.valid());
  Answer not_held = ask(loop, child.get(), request(HERD_BIND_OP_HELD_PATH, addr(other)));
  ASSERT_TRUE(not_held.got);
  EXPECT_EQ(not_held.reply.error, ENOENT);
  EXPECT_EQ(held_asks, 2);
  // HELD_PATH is about socket files only.
  Answer ip = ask(loop, child.get(), request(HERD_BIND_OP_HELD_PATH, addr("127.0.0.1:80")));
  ASSERT_TRUE(ip.got);
  EXPECT_EQ(ip.reply.error, EINVAL);
  EXPECT_EQ(held_asks, 2);

  set.release_on_demand();  // removes app.sock
  EXPECT_EQ(::rmdir(dir.c_str()), 0) << std::strerror(errno);
}

TEST_F(BindChannelTest, ClosingTheChildEndStopsTheChannel) {
  // The channel's descriptor is the one its loop started watching.
  channel.reset();
  std::set<int> before = epoll_watched();
  BindChannel::Handlers h;
  h.bind = [this](const Address& a, int v6only) -> Result<int> {
    ++binds;
    return set.acquire(a, v6only);
  };
  h.listening = [this](const Address&) { ++listenings; };
  h.holds_path = [this](const std::string&) {
    ++held_asks;
    return false;
  };
  auto created = BindChannel::create(loop, std::move(h));
  ASSERT_TRUE(created.has_value());
  channel = std::move(created->first);
  child = std::move(created->second);
  ASSERT_TRUE(channel->start().has_value());
  std::set<int> after = epoll_watched();
  std::vector<int> added;
  for (int fd : after) {
    if (!before.contains(fd)) added.push_back(fd);
  }
  ASSERT_EQ(added.size(), 1u);
  int channel_fd = added[0];

  // Working until then.
  Answer a = ask(loop, child.get(), request(HERD_BIND_OP_HELD_PATH, addr("/tmp/none.sock")));
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.reply.error, ENOENT);

  child.reset();
  // The watcher stops (a hung-up peer stays readable forever: not stopping would spin the loop).
  EXPECT_TRUE(test::run_until(loop, [&] { return !epoll_watched().contains(channel_fd); }));
  EXPECT_EQ(binds, 0);
  EXPECT_EQ(listenings, 0);
  EXPECT_EQ(held_asks, 1);
  // The loop has nothing left to run for it; destroying the channel afterwards is fine.
  loop.run(RunMode::kNoWait);
  channel.reset();
  EXPECT_FALSE(loop.alive());
}

TEST_F(BindChannelTest, TheWatcherDoesNotKeepTheLoopAlive) {
  // run() returns at once: the channel alone is no reason for the daemon's loop to keep going.
  EXPECT_FALSE(loop.alive());
  EXPECT_FALSE(loop.run());
}

}  // namespace
}  // namespace herd::manager::bind_channel_test
