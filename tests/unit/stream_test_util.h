// Helpers shared by the Stream tests: socket pairs set up without a loop, a reader that
// collects everything, and reproducible byte patterns.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "herd/net/stream.h"

namespace herd {
namespace {

// Waits for `events` on `fd` with a deadline (for the raw sockets that set up a test).
inline bool poll_for(int fd, short events, int timeout_ms = 10'000) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r == 1;
}

// A connected loopback TCP pair {client, server}, set up without a loop.
inline std::pair<Fd, Fd> tcp_pair() {
  auto addr = Address::parse("127.0.0.1:0");
  auto listener = Fd::socket(AF_INET, SOCK_STREAM);
  EXPECT_TRUE(addr && listener);
  EXPECT_EQ(::bind(listener->get(), addr->data(), addr->size()), 0);
  EXPECT_EQ(::listen(listener->get(), 1), 0);
  auto bound = Address::local_of(listener->get());
  auto client = Fd::socket(AF_INET, SOCK_STREAM);
  EXPECT_TRUE(bound && client);
  int r = ::connect(client->get(), bound->data(), bound->size());
  EXPECT_TRUE(r == 0 || errno == EINPROGRESS);
  EXPECT_TRUE(poll_for(listener->get(), POLLIN));
  auto server = Fd::accept(listener->get());
  EXPECT_TRUE(server.has_value());
  EXPECT_TRUE(poll_for(client->get(), POLLOUT));
  return {std::move(*client), std::move(*server)};
}

inline std::pair<Fd, Fd> unix_pair() {
  auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  EXPECT_TRUE(pair.has_value());
  return std::move(*pair);
}

// Reads everything into `out` until EOF or an error.
struct Collector {
  std::string data;
  bool eof = false;
  std::optional<Error> error;
  Stream::ReadCallback callback() {
    return [this](Result<std::string_view> chunk) {
      if (!chunk) {
        error = chunk.error();
      } else if (chunk->empty()) {
        eof = true;
      } else {
        data.append(*chunk);
      }
    };
  }
};

inline std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

}  // namespace
}  // namespace herd
