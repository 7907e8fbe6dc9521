// BindChannel and a peer that does not follow the protocol: every malformed request is answered
// EINVAL and reaches no handler, after which the channel still answers good ones in order; a
// descriptor the peer attaches is not kept. The helpers and the fixture: bind_channel_util.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bind_channel_util.h"
#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "support/wait.h"

namespace herd::manager::bind_channel_test {
namespace {

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
  ASSERT_EQ(send_with_descriptor(child.get(), &req, sizeof(req), pipe->second.get()),
            static_cast<ssize_t>(sizeof(req)));
  pipe->second.reset();  // now only the message holds the write end
  ASSERT_TRUE(test::run_until(loop, [&] { return readable(child.get()); }));
  herd_bind_reply reply{};
  ASSERT_EQ(::recv(child.get(), &reply, sizeof(reply), 0), static_cast<ssize_t>(sizeof(reply)));
  EXPECT_EQ(reply.error, ENOENT);
  // Every write end is closed: the read end sees end of file (not EAGAIN).
  char byte;
  EXPECT_EQ(::read(pipe->first.get(), &byte, 1), 0);
}

}  // namespace
}  // namespace herd::manager::bind_channel_test
