// http_fuzz: a libFuzzer target that sends arbitrary bytes to an http::Server connection.
//
// The server has no hook for injecting a connection, so the target drives it the way a client
// would: one server, on one loop, for the whole run (listening on a Linux abstract Unix socket,
// so there is no port to collide with and no file to clean up), and for each input a fresh
// connection that writes the input, half-closes, reads everything until the server closes, and
// then closes. Two properties are checked besides the sanitizers' own: the server closes the
// connection after the client's EOF (no connection hangs), and once the client is gone the
// server holds no connection (none leaks).
//
// Input layout: byte 0 chooses how the handler answers (at once, echoing the body, streaming,
// from a later loop callback, not at all, or with its own status and headers); byte 1 how the
// bytes are cut into writes (1..255 bytes, 0: all at once), so that every parser state meets a
// boundary; the rest is what the client sends.
//
// Limits are small (1 KiB of headers, 4 KiB of body) so that 431 and 413 are reachable within
// libFuzzer's default input size; timeouts are short so that a server waiting on a half-open
// connection costs milliseconds, not seconds, per input.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "herd/base/fd.h"
#include "herd/base/log.h"
#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"

namespace {

using herd::EventLoop;
using herd::RunMode;
namespace http = herd::http;

// How long one input may take before it counts as a hang. Far above what any correct exchange
// needs (the server's timeouts below are at most 200 ms, its linger after closing is 2 s and
// this client always closes first), far below libFuzzer's -timeout.
constexpr std::uint64_t kDeadlineMs = 5000;

enum class Mode : std::uint8_t {
  kEnd,      // end("ok") at once
  kEcho,     // end(body)
  kStream,   // write() the target in pieces, then end()
  kLater,    // end() from an immediate, after the handler returned
  kDrop,     // never end(): the server must answer 500 by itself
  kHeaders,  // a status and headers taken from the request
  kCount,
};

struct Fuzzer {
  EventLoop loop;
  std::unique_ptr<http::Server> server;
  herd::Address address;
  Mode mode = Mode::kEnd;

  Fuzzer() {
    // Unanswered responses and malformed requests are logged by design; a line per input would
    // drown libFuzzer's own output and slow the run. HERD_LOG_LEVEL still wins when set.
    if (std::getenv("HERD_LOG_LEVEL") == nullptr) herd::set_log_level(herd::LogLevel::kOff);
    http::ServerOptions options;
    options.max_header_bytes = 1024;
    options.max_body_bytes = 4096;
    options.headers_timeout_ms = 100;
    options.request_timeout_ms = 200;
    options.keep_alive_timeout_ms = 50;
    options.metrics_path = "/metrics";
    server = std::make_unique<http::Server>(
        loop, [this](const http::Request& req, http::Response res) { handle(req, std::move(res)); },
        options);
    auto parsed = herd::Address::parse("unix:@herd-http-fuzz-" + std::to_string(::getpid()));
    if (!parsed) die(parsed.error().message().c_str());
    address = *parsed;
    if (auto st = server->listen(address); !st) die(st.error().message().c_str());
  }

  [[noreturn]] static void die(const char* why) {
    std::fprintf(stderr, "http_fuzz: %s\n", why);
    std::abort();
  }

  void handle(const http::Request& req, http::Response res) {
    switch (mode) {
      case Mode::kEnd:
        res.end("ok");
        break;
      case Mode::kEcho:
        res.end(req.body());
        break;
      case Mode::kStream: {
        std::string_view target = req.target();
        res.write("<");
        for (std::size_t i = 0; i < target.size(); i += 7) res.write(target.substr(i, 7));
        res.end(">");
        break;
      }
      case Mode::kLater: {
        std::string body(req.path());
        loop.set_immediate(
            [res = std::move(res), body = std::move(body)]() mutable { res.end(body); });
        break;
      }
      case Mode::kDrop:
        break;  // `res` is destroyed unanswered
      case Mode::kHeaders: {
        int status = 100 + static_cast<int>(req.target().size() % 500);
        if (status < 200) status += 100;  // 1xx is the server's business (100-continue)
        res.set_status(status);
        if (auto v = req.header("x-echo")) res.set_header("X-Echo", *v);
        if (auto q = req.query_param("q")) res.set_header("X-Query", std::to_string(q->size()));
        res.end(req.method());
        break;
      }
      case Mode::kCount:
        break;
    }
  }

  // Runs the loop until `done()` or the deadline. Never blocks in poll: everything the server
  // waits for is on this machine and already sent, and a sleeping poll would cost a scheduler
  // wake-up per step (milliseconds on a loaded machine, for every input).
  template <class F>
  bool run_until(F done) {
    std::uint64_t start = now_ms();
    while (!done()) {
      if (now_ms() - start > kDeadlineMs) return false;
      loop.run(RunMode::kNoWait);
    }
    return true;
  }

  static std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }

  // Reads whatever the server sent; returns false once the server closed (EOF or reset).
  static bool drain(int fd) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0) continue;
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  void one_input(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return;
    mode = static_cast<Mode>(data[0] % static_cast<std::uint8_t>(Mode::kCount));
    std::size_t piece = data[1] == 0 ? size : data[1];
    std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

    auto client = herd::Fd::socket(AF_UNIX, SOCK_STREAM);
    if (!client) die(client.error().message().c_str());
    int fd = client->get();
    // A Unix stream connect completes at once, or fails with EAGAIN when the backlog is full
    // (the previous inputs' connections are all gone by now, so that would be a server bug).
    if (::connect(fd, address.data(), address.size()) < 0) die("connect to the server failed");

    bool open = true;
    std::size_t sent = 0;
    while (sent < bytes.size() && open) {
      std::string_view chunk = bytes.substr(sent, piece);
      ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        break;  // the server closed (after an error answer): the rest is not wanted
      }
      // Let the server see this piece on its own before the next one arrives.
      loop.run(RunMode::kNoWait);
      open = drain(fd);
    }
    ::shutdown(fd, SHUT_WR);
    if (!run_until([&] { return !(open = open && drain(fd)); })) {
      die("the server kept the connection open after the client's EOF");
    }
    client->reset();
    if (!run_until([&] { return server->metrics().active_connections == 0; })) {
      die("the server still holds a connection after the client closed it");
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Built on first use and never destroyed: libFuzzer exits with exit(), and a server torn down
  // by static destructors at that point would only add noise.
  static Fuzzer* fuzzer = new Fuzzer();
  fuzzer->one_input(data, size);
  return 0;
}
