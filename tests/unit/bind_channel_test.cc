// BindChannel: the daemon's end of an instance's bind channel. The test plays the instance on the
// child end, byte for byte as src/inject/bind_preload.c would, and checks the answers: the
// socket a ListenSet holds for a valid BIND, EINVAL for anything malformed (which never reaches
// the handlers), and a quiet stop when the instance hangs up.
#include "manager/bind_channel.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "herd/address.h"
#include "herd/event_loop.h"
#include "herd/fd.h"
#include "manager/listen_set.h"
#include "support/wait.h"

extern "C" {
#include "inject/bind_protocol.h"
}

namespace herd::manager {
namespace {

// A port free on 127.0.0.1 right now.
std::uint16_t free_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
  auto bound = Address::local_of(fd.get());
  EXPECT_TRUE(bound.has_value());
  return bound ? bound->port() : 0;
}

Address addr(const std::string& text) {
  auto a = Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? *a : Address();
}

// A well-formed request for `a`, as the preload builds it.
herd_bind_request request(std::uint16_t op, const Address& a, int v6only = -1) {
  herd_bind_request req;
  std::memset(&req, 0, sizeof(req));
  req.magic = HERD_BIND_MAGIC;
  req.version = HERD_BIND_VERSION;
  req.op = op;
  req.v6only = v6only;
  std::memcpy(&req.addr, a.data(), a.size());
  req.addr_len = a.size();
  return req;
}

// A Unix path request written by hand: `len` bytes of sun_path are `path` (no NUL added unless
// it is in `path`).
herd_bind_request unix_request(std::uint16_t op, const std::string& path, std::size_t len) {
  herd_bind_request req;
  std::memset(&req, 0, sizeof(req));
  req.magic = HERD_BIND_MAGIC;
  req.version = HERD_BIND_VERSION;
  req.op = op;
  req.v6only = -1;
  auto* un = reinterpret_cast<sockaddr_un*>(&req.addr);
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), std::min(path.size(), sizeof(un->sun_path)));
  req.addr_len = static_cast<std::uint32_t>(offsetof(sockaddr_un, sun_path) + len);
  return req;
}

struct Answer {
  bool got = false;
  herd_bind_reply reply{};
  ssize_t size = -1;
  Fd fd;  // the descriptor the reply carried, if any
};

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// Sends `bytes` as one datagram from the instance's end, runs the loop until the answer is
// there, and reads it.
Answer ask_raw(EventLoop& loop, int child, const void* bytes, std::size_t size) {
  Answer a;
  ssize_t sent = ::send(child, bytes, size, MSG_NOSIGNAL);
  EXPECT_EQ(sent, static_cast<ssize_t>(size)) << std::strerror(errno);
  if (sent != static_cast<ssize_t>(size)) return a;
  if (!test::run_until(loop, [&] { return readable(child); })) return a;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{&a.reply, sizeof(a.reply)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  a.size = ::recvmsg(child, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      a.fd.reset(fd);
    }
  }
  a.got = a.size == static_cast<ssize_t>(sizeof(herd_bind_reply));
  return a;
}

Answer ask(EventLoop& loop, int child, const herd_bind_request& req) {
  return ask_raw(loop, child, &req, sizeof(req));
}

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

// A channel whose handlers are backed by a ListenSet, counting every call.
class BindChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BindChannel::Handlers h;
    h.bind = [this](const Address& a, int v6only) -> Result<int> {
      ++binds;
      last_bind = a;
      last_v6only = v6only;
      return set.acquire(a, v6only);
    };
    h.listening = [this](const Address& a) {
      ++listenings;
      last_listening = a;
      if (destroy_on_listening) channel.reset();
    };
    h.holds_path = [this](const std::string& path) {
      ++held_asks;
      return set.holds_unix_path(path);
    };
    auto created = BindChannel::create(loop, std::move(h));
    ASSERT_TRUE(created.has_value()) << created.error().message();
    channel = std::move(created->first);
    child = std::move(created->second);
    ASSERT_TRUE(channel->start().has_value());
  }

  void TearDown() override {
    channel.reset();
    child.reset();
    loop.run(RunMode::kNoWait);
  }

  EventLoop loop;
  ListenSet set;
  std::unique_ptr<BindChannel> channel;
  Fd child;
  int binds = 0;
  int listenings = 0;
  int held_asks = 0;
  Address last_bind;
  int last_v6only = -2;
  Address last_listening;
  bool destroy_on_listening = false;
};

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

TEST_F(BindChannelTest, MalformedRequestsAreAnsweredEinvalAndReachNoHandler) {
  std::uint16_t port = free_port();
  Address good = addr("127.0.0.1:" + std::to_string(port));
  struct Case {
    const char* what;
    herd_bind_request req;
  };
  std::vector<Case> cases;
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.magic = 0x12345678;
    cases.push_back({"wrong magic", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.version = HERD_BIND_VERSION + 1;
    cases.push_back({"wrong version", r});
  }
  cases.push_back({"unknown op", request(99, good)});
  cases.push_back({"op 0", request(0, good)});
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.addr_len = sizeof(r.addr) + 1;
    cases.push_back({"addr_len too big", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.addr_len = 1;
    cases.push_back({"addr_len shorter than a family", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.addr_len = sizeof(sockaddr_in) - 1;
    cases.push_back({"AF_INET of the wrong length", r});
  }
  cases.push_back({"AF_INET port 0", request(HERD_BIND_OP_BIND, addr("127.0.0.1:0"))});
  cases.push_back({"AF_INET6 port 0", request(HERD_BIND_OP_BIND, addr("[::1]:0"), 0)});
  cases.push_back(
      {"relative Unix path", unix_request(HERD_BIND_OP_BIND, std::string("app.sock\0", 9), 9)});
  cases.push_back({"Unix path without NUL", unix_request(HERD_BIND_OP_BIND, "/tmp/app.sock", 13)});
  cases.push_back({"empty Unix path", unix_request(HERD_BIND_OP_BIND, "", 0)});
  cases.push_back(
      {"abstract Unix name", unix_request(HERD_BIND_OP_BIND, std::string("\0name\0", 6), 6)});
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.v6only = 7;
    cases.push_back({"v6only 7", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    r.v6only = -2;
    cases.push_back({"v6only -2", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    reinterpret_cast<sockaddr*>(&r.addr)->sa_family = AF_APPLETALK;
    cases.push_back({"unknown family", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_BIND, good);
    reinterpret_cast<sockaddr*>(&r.addr)->sa_family = AF_UNSPEC;
    cases.push_back({"AF_UNSPEC", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_LISTENING, good);
    r.magic = 0;
    cases.push_back({"LISTENING with wrong magic", r});
  }
  {
    herd_bind_request r = request(HERD_BIND_OP_LISTENING, good);
    r.addr_len = sizeof(r.addr) + 100;
    cases.push_back({"LISTENING with addr_len too big", r});
  }
  cases.push_back({"HELD_PATH relative",
                   unix_request(HERD_BIND_OP_HELD_PATH, std::string("app.sock\0", 9), 9)});
  cases.push_back({"HELD_PATH without NUL", unix_request(HERD_BIND_OP_HELD_PATH, "/a.sock", 7)});

  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Answer a = ask(loop, child.get(), c.req);
    ASSERT_TRUE(a.got);
    EXPECT_EQ(a.reply.magic, HERD_BIND_MAGIC);
    EXPECT_EQ(a.reply.error, EINVAL);
    EXPECT_FALSE(a.fd.valid());
  }

  // Datagrams of the wrong size, shorter and longer.
  herd_bind_request r = request(HERD_BIND_OP_BIND, good);
  {
    SCOPED_TRACE("one byte short");
    Answer a = ask_raw(loop, child.get(), &r, sizeof(r) - 1);
    ASSERT_TRUE(a.got);
    EXPECT_EQ(a.reply.error, EINVAL);
    EXPECT_FALSE(a.fd.valid());
  }
  {
    SCOPED_TRACE("one byte long");
    char longer[sizeof(r) + 1] = {};
    std::memcpy(longer, &r, sizeof(r));
    Answer a = ask_raw(loop, child.get(), longer, sizeof(longer));
    ASSERT_TRUE(a.got);
    EXPECT_EQ(a.reply.error, EINVAL);
  }
  {
    SCOPED_TRACE("much longer");
    std::vector<char> big(4096, 0);
    std::memcpy(big.data(), &r, sizeof(r));
    Answer a = ask_raw(loop, child.get(), big.data(), big.size());
    ASSERT_TRUE(a.got);
    EXPECT_EQ(a.reply.error, EINVAL);
  }
  {
    SCOPED_TRACE("a header only");
    Answer a = ask_raw(loop, child.get(), &r, 8);
    ASSERT_TRUE(a.got);
    EXPECT_EQ(a.reply.error, EINVAL);
  }

  EXPECT_EQ(binds, 0);
  EXPECT_EQ(listenings, 0);
  EXPECT_EQ(held_asks, 0);
  EXPECT_TRUE(set.addresses().empty());

  // The channel still answers a good request afterwards: one reply per request, in order.
  Answer ok = ask(loop, child.get(), request(HERD_BIND_OP_BIND, good));
  ASSERT_TRUE(ok.got);
  EXPECT_EQ(ok.reply.error, 0);
  EXPECT_TRUE(ok.fd.valid());
  EXPECT_EQ(binds, 1);
  EXPECT_FALSE(readable(child.get()));
}

TEST_F(BindChannelTest, ADescriptorSentByThePeerIsNotKept) {
  // A request that carries a descriptor (nothing in the protocol does): the channel answers and
  // does not keep it (it would leak one descriptor per request).
  auto pipe = Fd::pipe(O_NONBLOCK);
  ASSERT_TRUE(pipe.has_value());
  herd_bind_request req = request(HERD_BIND_OP_HELD_PATH, addr("/tmp/none.sock"));
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{&req, sizeof(req)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int wfd = pipe->second.get();
  std::memcpy(CMSG_DATA(c), &wfd, sizeof(int));
  ASSERT_EQ(::sendmsg(child.get(), &msg, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof(req)));
  pipe->second.reset();  // now only the message holds the write end
  ASSERT_TRUE(test::run_until(loop, [&] { return readable(child.get()); }));
  herd_bind_reply reply{};
  ASSERT_EQ(::recv(child.get(), &reply, sizeof(reply), 0), static_cast<ssize_t>(sizeof(reply)));
  EXPECT_EQ(reply.error, ENOENT);
  // Every write end is closed: the read end sees end of file (not EAGAIN).
  char byte;
  EXPECT_EQ(::read(pipe->first.get(), &byte, 1), 0);
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
}  // namespace herd::manager
