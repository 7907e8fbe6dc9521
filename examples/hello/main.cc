// hello: the smallest useful HTTP server on libherd. Every request gets "Hello World!\n".
//
//   hello [--port N] [--host ADDR]
//
// The port comes from --port, else $PORT, else 8080; the host from --host (default 0.0.0.0, all
// IPv4 interfaces; "::" for IPv6, "unix:/path" for a Unix socket). Started by systemd or by herd
// with LISTEN_FDS, it serves on the socket it was handed for that address instead of binding.
// SIGINT or SIGTERM closes it gracefully (requests in flight finish) and it exits with 0.
// A taken port or a bad argument is reported on stderr with exit code 1.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "herd/address.h"
#include "herd/event_loop.h"
#include "herd/http/server.h"

namespace {

constexpr std::string_view kBody = "Hello World!\n";

struct Options {
  std::string host = "0.0.0.0";
  std::string port = "8080";
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "hello: %s\nusage: hello [--port N] [--host ADDR]   (PORT=N also works)\n",
               message.c_str());
  return 1;
}

// Accepts "--port N" and "--port=N" (and the same for --host). Returns false with `error` set on
// anything else, so that a typo is never silently ignored.
bool parse_args(int argc, char** argv, Options* options, std::string* error) {
  if (const char* env = std::getenv("PORT"); env != nullptr && *env != '\0') options->port = env;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string* target = nullptr;
    std::string_view name;
    for (auto [flag, field] : {std::pair{"--port", &options->port}, {"--host", &options->host}}) {
      std::string_view f = flag;
      if (arg == f || (arg.starts_with(f) && arg.size() > f.size() && arg[f.size()] == '=')) {
        target = field;
        name = f;
      }
    }
    if (target == nullptr) {
      *error = "unknown argument \"" + std::string(arg) + "\"";
      return false;
    }
    if (arg.size() > name.size()) {
      *target = std::string(arg.substr(name.size() + 1));
    } else if (i + 1 < argc) {
      *target = argv[++i];
    } else {
      *error = std::string(name) + " needs a value";
      return false;
    }
  }
  return true;
}

// "0.0.0.0" + "8080" -> "0.0.0.0:8080"; IPv6 literals get their brackets; a Unix socket address
// has no port.
std::string address_text(const Options& o) {
  if (o.host.starts_with("unix:") || o.host.starts_with('/')) return o.host;
  if (o.host.find(':') != std::string::npos && !o.host.starts_with('[')) {
    return "[" + o.host + "]:" + o.port;
  }
  return o.host + ":" + o.port;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string error;
  if (!parse_args(argc, argv, &options, &error)) return usage_error(error);
  auto address = herd::Address::parse(address_text(options));
  if (!address) return usage_error(address.error().message());

  herd::EventLoop loop;
  herd::http::Server server(loop, [](const herd::http::Request&, herd::http::Response res) {
    res.set_header("Content-Type", "text/plain");
    res.end(kBody);
  });
  herd::http::GracefulShutdown shutdown(loop, server);
  if (auto st = server.listen(*address); !st) {
    std::fprintf(stderr, "hello: %s\n", st.error().message().c_str());
    return 1;
  }
  for (const auto& a : server.local_addresses()) {
    std::fprintf(stderr, "hello: listening on %s\n", a.to_string().c_str());
  }
  loop.run();
  return 0;
}
