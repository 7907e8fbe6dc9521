// Roles of the test binary for health_test.cc: a small HTTP/TCP server whose answers a test
// steers with files.
//
//   health_server   listens on 127.0.0.1:$<HEALTH_PORT_VAR> (PORT unless named otherwise) and
//                   answers each connection by HEALTH_MODE:
//                     http     "HTTP/1.1 200" (body: its pid); 500 while the file
//                              HERD_E2E_FILE exists; 503 always when HEALTH_BROKEN_IF named a
//                              file that existed when it started
//                     tcp      accepts and closes; closes its listener for good once
//                              HERD_E2E_FILE exists (connections are refused from then on)
//                     garbage  "SSH-2.0-nope" and closes
//                     silent   accepts and never answers
//                   With LISTEN_FDS (cluster mode, herd's socket at fd 3) it serves that socket
//                   too, the same way. SIGINT/SIGTERM: it ends after the connection in hand.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"
#include "support/child_process.h"

namespace herd::e2e {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string(fallback) : std::string(v);
}

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // a stop signal: the answer still goes out
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Reads the request's head (up to a blank line, 4 KiB or 2 s). A stop signal does not cut it
// short: closing with the request unread would reset the connection.
void read_head(int fd) {
  std::string in;
  char buf[512];
  while (in.find("\r\n\r\n") == std::string::npos && in.size() < 4096) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 2000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    in.append(buf, static_cast<std::size_t>(n));
  }
}

volatile sig_atomic_t stopping = 0;

void on_stop(int) { stopping = 1; }

bool health_server = test::register_role("health_server", [](int, char**) {
  struct sigaction sa {};
  sa.sa_handler = on_stop;  // no SA_RESTART: poll() returns, the loop ends
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  int shared = env_or("LISTEN_FDS", "") == "1" ? 3 : -1;
  std::string mode = env_or("HEALTH_MODE", "http");
  std::string fail_file = env_or(kFileVar, "");
  std::string broken_if = env_or("HEALTH_BROKEN_IF", "");
  bool broken = !broken_if.empty() && file_exists(broken_if);
  int port = std::atoi(env_or(env_or("HEALTH_PORT_VAR", "PORT").c_str(), "0").c_str());
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 || ::listen(lfd, 64) < 0) {
    std::fprintf(stderr, "health_server: bind/listen port %d: %s\n", port, std::strerror(errno));
    return 2;
  }
  std::fprintf(stdout, "health_server %d listening on %d (%s)\n", static_cast<int>(::getpid()),
               port, mode.c_str());
  std::fflush(stdout);
  std::vector<int> silent;  // connections never answered
  while (stopping == 0) {
    if (mode == "tcp" && lfd >= 0 && !fail_file.empty() && file_exists(fail_file)) {
      ::close(lfd);
      lfd = -1;
    }
    if (lfd < 0) {
      ::pause();
      continue;
    }
    pollfd p[2] = {{lfd, POLLIN, 0}, {shared, POLLIN, 0}};
    if (::poll(p, shared >= 0 ? 2 : 1, 50) <= 0) continue;
    int from = (p[0].revents & POLLIN) != 0 ? lfd : shared;
    int c = ::accept4(from, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) continue;
    int flags = 0;  // answered with blocking I/O (read_head polls)
    ::ioctl(c, FIONBIO, &flags);
    if (mode == "silent") {
      silent.push_back(c);
      continue;
    }
    if (mode == "garbage") {
      send_all(c, "SSH-2.0-nope\r\n");
    } else if (mode == "http") {
      read_head(c);
      bool failing = broken || (!fail_file.empty() && file_exists(fail_file));
      std::string body = std::to_string(::getpid());
      send_all(c, std::string(failing ? (broken ? "HTTP/1.1 503 Broken" : "HTTP/1.1 500 Failing")
                                      : "HTTP/1.1 200 OK") +
                      "\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n" + body);
    }
    ::close(c);
  }
  return 0;
});

}  // namespace
}  // namespace herd::e2e
