// encrypt: CPU-heavy work off the event loop. GET /encrypt?text=... answers the hex of
// PBKDF2-HMAC-SHA512(text) (libcrypto), computed on a pool of worker threads; GET / answers "ok"
// at once, however many hashes are running, because the loop thread never computes one.
//
//   encrypt [--port N] [--host ADDR] [--workers N] [--iterations N]
//
// Port from --port, else $PORT, else 8080; host default 0.0.0.0. --workers defaults to the
// number of CPUs; --iterations (default 100000, tens of milliseconds per request) is the PBKDF2
// cost, fixed by the operator rather than by the client, so no request can ask for more work.
// Adopts LISTEN_FDS sockets and shuts down gracefully on SIGINT/SIGTERM, like hello.
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/message.h"
#include "herd/loop/worker_pool.h"
#include "herd/net/address.h"

namespace {

// A fixed, public salt: this is a demonstration of moving CPU work off the loop, not a password
// store (which would use a random salt per secret and keep it next to the hash).
constexpr std::string_view kSalt = "herd-encrypt-example";
constexpr int kHashBytes = 64;

struct Options {
  std::string host = "0.0.0.0";
  std::string port = "8080";
  unsigned long workers = 0;  // 0: one per CPU
  unsigned long iterations = 100'000;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr,
               "encrypt: %s\nusage: encrypt [--port N] [--host ADDR] [--workers N] "
               "[--iterations N]   (PORT=N also works)\n",
               message.c_str());
  return 1;
}

bool parse_count(std::string_view text, unsigned long min, unsigned long max, unsigned long* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out >= min && *out <= max;
}

bool parse_args(int argc, char** argv, Options* o, std::string* error) {
  if (const char* env = std::getenv("PORT"); env != nullptr && *env != '\0') o->port = env;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view name = arg.substr(0, arg.find('='));
    std::string value;
    if (name.size() < arg.size()) {
      value = std::string(arg.substr(name.size() + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      *error = std::string(arg) + " needs a value";
      return false;
    }
    if (name == "--port") {
      o->port = value;
    } else if (name == "--host") {
      o->host = value;
    } else if (name == "--workers") {
      if (!parse_count(value, 1, 1024, &o->workers)) {
        *error = "--workers \"" + value + "\" must be a number from 1 to 1024";
        return false;
      }
    } else if (name == "--iterations") {
      if (!parse_count(value, 1, 1'000'000'000, &o->iterations)) {
        *error = "--iterations \"" + value + "\" must be a number from 1 to 1000000000";
        return false;
      }
    } else {
      *error = "unknown argument \"" + std::string(arg) + "\"";
      return false;
    }
  }
  return true;
}

std::string address_text(const Options& o) {
  if (o.host.starts_with("unix:") || o.host.starts_with('/')) return o.host;
  if (o.host.find(':') != std::string::npos && !o.host.starts_with('[')) {
    return "[" + o.host + "]:" + o.port;
  }
  return o.host + ":" + o.port;
}

// Runs on a worker thread: it owns `text` (moved in) and touches nothing else.
std::string pbkdf2_hex(const std::string& text, unsigned long iterations) {
  unsigned char out[kHashBytes];
  if (PKCS5_PBKDF2_HMAC(text.data(), static_cast<int>(text.size()),
                        reinterpret_cast<const unsigned char*>(kSalt.data()),
                        static_cast<int>(kSalt.size()), static_cast<int>(iterations), EVP_sha512(),
                        kHashBytes, out) != 1) {
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * kHashBytes + 1);
  for (unsigned char b : out) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  hex.push_back('\n');
  return hex;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string error;
  if (!parse_args(argc, argv, &options, &error)) return usage_error(error);
  auto address = herd::Address::parse(address_text(options));
  if (!address) return usage_error(address.error().message());
  if (options.workers == 0) options.workers = std::max(1u, std::thread::hardware_concurrency());

  herd::EventLoop loop;
  // Created after the server (the handler needs to name it) but reset before the server is
  // destroyed: terminating the pool completes any task still in flight, and its callback must
  // find the server alive.
  std::unique_ptr<herd::WorkerPool> pool;
  herd::http::Server server(loop, [&](const herd::http::Request& req, herd::http::Response res) {
    res.set_header("Content-Type", "text/plain");
    if (req.path() == "/") {
      res.end("ok\n");
      return;
    }
    if (req.path() != "/encrypt") {
      res.set_status(404);
      res.end("not found\n");
      return;
    }
    std::optional<std::string> text = req.query_param("text");
    if (!text) {
      res.set_status(400);
      res.end("missing ?text=\n");
      return;
    }
    // The request dies with this call; the task takes its own copy of the text, and the
    // Response moves into the completion, which runs back on this loop.
    pool->submit(
        [text = std::move(*text), iterations = options.iterations]() {
          return herd::Message::of(pbkdf2_hex(text, iterations));
        },
        [res = std::move(res)](std::expected<herd::Message, std::string> result) mutable {
          if (!result) {
            res.set_status(500);
            res.end("error: " + result.error() + "\n");
            return;
          }
          res.end(*result->get<std::string>());
        });
  });
  pool = std::make_unique<herd::WorkerPool>(loop, options.workers);
  herd::http::GracefulShutdown shutdown(loop, server);
  if (auto st = server.listen(*address); !st) {
    std::fprintf(stderr, "encrypt: %s\n", st.error().message().c_str());
    pool.reset();
    return 1;
  }
  for (const auto& a : server.local_addresses()) {
    std::fprintf(stderr, "encrypt: listening on %s (%lu workers, %lu iterations)\n",
                 a.to_string().c_str(), options.workers, options.iterations);
  }
  loop.run();
  pool.reset();
  return 0;
}
