// What the tests of BindChannel (bind_channel_test.cc, bind_channel_malformed_test.cc) share: the
// instance's side of the channel, byte for byte as src/inject/bind_preload.c would write it, and
// the fixture whose handlers are backed by a ListenSet.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "daemon/cluster_mode/bind_channel.h"
#include "daemon/cluster_mode/listen_set.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "support/wait.h"

extern "C" {
#include "inject/bind_protocol.h"
}

// A named namespace: the fixture must be one class for the suite across the two files.
namespace herd::manager::bind_channel_test {

// A port free on 127.0.0.1 right now.
inline std::uint16_t free_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
  auto bound = Address::local_of(fd.get());
  EXPECT_TRUE(bound.has_value());
  return bound ? bound->port() : 0;
}

inline Address addr(const std::string& text) {
  auto a = Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? *a : Address();
}

// A well-formed request for `a`, as the preload builds it.
inline herd_bind_request request(std::uint16_t op, const Address& a, int v6only = -1) {
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
inline herd_bind_request unix_request(std::uint16_t op, const std::string& path, std::size_t len) {
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

inline bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// Sends `bytes` as one datagram from the instance's end, runs the loop until the answer is
// there, and reads it.
inline Answer ask_raw(EventLoop& loop, int child, const void* bytes, std::size_t size) {
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

inline Answer ask(EventLoop& loop, int child, const herd_bind_request& req) {
  return ask_raw(loop, child, &req, sizeof(req));
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

}  // namespace herd::manager::bind_channel_test
