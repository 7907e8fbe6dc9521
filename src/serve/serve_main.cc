#include "serve/serve_main.h"

#include <signal.h>

#include <cstdio>

#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"

namespace herd::serve {

int run_static_server(const ServeOptions& options) {
  auto address = Address::parse(options.address);
  if (!address) {
    std::fprintf(stderr, "herd serve: %s\n", address.error().context().c_str());
    return 1;
  }
  auto site = StaticSite::open(options.site);
  if (!site) {
    std::fprintf(stderr, "herd serve: %s\n", site.error().message().c_str());
    return 1;
  }
  // A client that goes away while its answer is written must not end the server.
  ::signal(SIGPIPE, SIG_IGN);
  EventLoop loop;
  StaticSite& handler = **site;
  http::Server server(loop, [&handler](const http::Request& req, http::Response res) {
    handler.handle(req, std::move(res));
  });
  http::GracefulShutdown shutdown(loop, server);
  if (Status s = server.listen(*address); !s) {
    std::fprintf(stderr, "herd serve: %s\n", s.error().message().c_str());
    return 1;
  }
  // PM2's line, with the address really listened on.
  auto bound = server.local_addresses();
  std::printf("Exposing %s directory on %s\n", handler.root().real_path().c_str(),
              (bound.empty() ? *address : bound.front()).to_string().c_str());
  std::fflush(stdout);
  loop.run();
  return 0;
}

}  // namespace herd::serve
