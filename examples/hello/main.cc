// hello: the smallest useful HTTP server on libherd. Every request gets "Hello World!\n".
//
//   hello [--port N] [--host ADDR] [--workers N|auto] [--sched rr|shared|reuseport]
//
// --workers runs it as a cluster (herd/cluster/cluster.h): a primary and N worker processes sharing
// the port ("auto": $HERD_WORKERS, else one per CPU); --sched picks how connections are spread
// (default: $HERD_CLUSTER_SCHED, else the cluster's default). The primary reports each worker's
// events on stderr; SIGUSR1 makes it print each worker's request and connection counts
// ("hello: stats worker <id> pid <pid> requests <n> connections <n>", then "hello: stats end");
// SIGHUP is a rolling restart; SIGINT/SIGTERM stop every worker gracefully.
//
// The port comes from --port, else $PORT, else 8080; the host from --host (default 0.0.0.0, all
// IPv4 interfaces; "::" for IPv6, "unix:/path" for a Unix socket). Started by systemd or by herd
// with LISTEN_FDS, it serves on the socket it was handed for that address (the same port, or any
// port if it was given none) instead of binding.
// SIGINT or SIGTERM closes it gracefully (requests in flight finish) and it exits with 0.
// A taken port or a bad argument is reported on stderr with exit code 1.
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "herd/cluster/cluster.h"
#include "herd/cluster/cluster_worker.h"
#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/signal.h"
#include "herd/net/address.h"
#include "herd/net/socket_activation.h"

namespace {

constexpr std::string_view kBody = "Hello World!\n";

struct Options {
  std::string host = "0.0.0.0";
  std::string port = "8080";
  std::string workers;            // empty: no cluster
  std::string sched;              // empty: the cluster's default
  bool explicit_address = false;  // --port, --host or $PORT given
};

int usage_error(const std::string& message) {
  std::fprintf(stderr,
               "hello: %s\nusage: hello [--port N] [--host ADDR] [--workers N|auto] "
               "[--sched rr|shared|reuseport]   (PORT=N also works)\n",
               message.c_str());
  return 1;
}

// Accepts "--port N" and "--port=N" (and the same for --host). Returns false with `error` set on
// anything else, so that a typo is never silently ignored.
bool parse_args(int argc, char** argv, Options* options, std::string* error) {
  if (const char* env = std::getenv("PORT"); env != nullptr && *env != '\0') {
    options->port = env;
    options->explicit_address = true;
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string* target = nullptr;
    std::string_view name;
    for (auto [flag, field] : {std::pair{"--port", &options->port},
                               {"--host", &options->host},
                               {"--workers", &options->workers},
                               {"--sched", &options->sched}}) {
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
    if (name == "--port" || name == "--host") options->explicit_address = true;
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

void handle(const herd::http::Request&, herd::http::Response res) {
  res.set_header("Content-Type", "text/plain");
  res.end(kBody);
}

// A worker of the cluster: serves the address through the primary, answers its stats requests.
int run_worker(herd::EventLoop& loop, const herd::Address& address) {
  herd::http::Server server(loop, handle);
  herd::cluster::WorkerProcess worker(loop);
  if (auto st = worker.start(); !st) {
    std::fprintf(stderr, "hello: %s\n", st.error().message().c_str());
    return 1;
  }
  worker.on_request([&server](herd::ChannelMessage m, herd::Responder reply) {
    if (m.body != "stats") {
      reply.fail("unknown request");
      return;
    }
    const auto& metrics = server.metrics();
    std::uint64_t requests = 0;
    for (auto n : metrics.requests_by_class) requests += n;
    reply.reply({{"requests", requests}, {"connections", metrics.total_connections}});
  });
  int code = 0;
  worker.serve(server, address, [&](herd::Result<herd::Address> bound) {
    if (!bound) {
      std::fprintf(stderr, "hello: worker %d: %s\n", worker.id(), bound.error().message().c_str());
      code = 1;
      worker.disconnect();
    }
  });
  loop.run();
  return code;
}

// The primary: starts the workers and reports what happens to them.
int run_primary(herd::EventLoop& loop, const Options& options) {
  herd::cluster::Options cluster;
  if (options.workers != "auto") {
    auto [end, ec] = std::from_chars(
        options.workers.data(), options.workers.data() + options.workers.size(), cluster.workers);
    if (ec != std::errc() || end != options.workers.data() + options.workers.size() ||
        cluster.workers < 1) {
      return usage_error("--workers \"" + options.workers + "\": expected a number >= 1 or auto");
    }
  }
  if (!options.sched.empty()) {
    auto sched = herd::cluster::parse_scheduling(options.sched);
    if (!sched) return usage_error("--sched: " + sched.error().context());
    cluster.scheduling = *sched;
  }
  herd::cluster::Primary primary(loop, cluster);
  // A worker that cannot listen (the port is taken, say) exits with 1 on its own, and is not
  // restarted; if none ever listened, the primary ends with 1 too.
  bool listened = false;
  bool failed = false;
  primary.on_listening([&listened](herd::cluster::Worker& w, const herd::Address& a) {
    listened = true;
    std::fprintf(stderr, "hello: worker %d (pid %d) listening on %s\n", w.id(), w.pid(),
                 a.to_string().c_str());
  });
  primary.on_exit([&](herd::cluster::Worker& w, const herd::cluster::ExitInfo& info) {
    if (info.code > 0 && !listened) failed = true;
    std::fprintf(stderr, "hello: worker %d (pid %d) exited (%s %d)%s\n", w.id(), w.pid(),
                 info.signal != 0 ? "signal" : "code", info.signal != 0 ? info.signal : info.code,
                 info.on_purpose ? "" : "; restarting it");
  });
  herd::Signal usr1(loop);
  auto stats = [&primary, &loop] {
    auto pending = std::make_shared<int>(0);
    auto end = [pending] {
      if (--*pending == 0) std::fprintf(stderr, "hello: stats end\n");
    };
    for (herd::cluster::Worker* w : primary.workers()) {
      ++*pending;
      int id = w->id();
      pid_t pid = w->pid();
      auto st = w->request("stats", [id, pid, end](herd::Result<herd::ChannelMessage> r) {
        if (r) {
          std::fprintf(stderr, "hello: stats worker %d pid %d requests %llu connections %llu\n", id,
                       pid, r->body.value("requests", 0ull), r->body.value("connections", 0ull));
        }
        end();
      });
      if (!st) end();
    }
    if (*pending == 0) std::fprintf(stderr, "hello: stats end\n");
    (void)loop;
  };
  if (auto st = usr1.start(SIGUSR1, [&](int) { stats(); }); st) usr1.unref();
  if (auto st = primary.start(); !st) {
    std::fprintf(stderr, "hello: %s\n", st.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "hello: primary pid %d, %d workers, scheduling %s\n", ::getpid(),
               primary.size(), std::string(to_string(primary.scheduling())).c_str());
  loop.run();
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string error;
  if (!parse_args(argc, argv, &options, &error)) return usage_error(error);
  auto address = herd::Address::parse(address_text(options));
  if (!address) return usage_error(address.error().message());
  // Told no address, it serves on the one socket it was handed (`herd start hello --listen
  // 127.0.0.1:9000`), if that is what it got.
  if (!options.explicit_address) address = herd::default_listen_address(*address);

  herd::EventLoop loop;
  if (herd::cluster::is_worker()) return run_worker(loop, *address);
  if (!options.workers.empty()) return run_primary(loop, options);

  herd::http::Server server(loop, handle);
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
