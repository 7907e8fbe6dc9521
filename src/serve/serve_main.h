// `herd serve --foreground`: the process of a `herd serve` app. It serves one folder
// (static_site.h) on libherd's HTTP server until SIGINT or SIGTERM, which close it gracefully.
//
// Threads: the calling thread becomes the serving loop's.
#pragma once

#include <string>

#include "serve/static_site.h"

namespace herd::serve {

struct ServeOptions {
  SiteOptions site;
  // The address text for Address::parse: "0.0.0.0:8080" (PM2's host), "127.0.0.1:8080". When
  // herd holds the port for the app (-i N), the inherited socket of that address is adopted.
  std::string address;
};

// Serves until stopped: 0 after a graceful stop; 1, with the reason on stderr, when the folder
// cannot be opened or the address cannot be listened on.
int run_static_server(const ServeOptions& options);

}  // namespace herd::serve
