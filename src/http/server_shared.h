// detail::ServerShared: what every connection of one server shares (handler, options, metrics,
// the Date line) and the server's side of a connection's end.
//
// Threads: the server's loop thread only.
#pragma once

#include <functional>
#include <string>

#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "http/date_cache.h"
#include "http/herd_report.h"

namespace herd::http::detail {

class Connection;

struct ServerShared {
  ServerShared(EventLoop& l, Handler h, ServerOptions o)
      : loop(l), handler(std::move(h)), options(std::move(o)), report(l, metrics) {}

  EventLoop& loop;
  Handler handler;
  ServerOptions options;
  ServerMetrics metrics;
  DateCache date;
  // Code metrics for herd, when it asks for them (HERD_CODE_METRICS): requests' latencies.
  HerdReport report;
  // Called in the close phase once a connection's socket is closed: the server unlinks and
  // deletes it there.
  std::function<void(Connection*)> release;
  // The Prometheus text served at options.metrics_path.
  std::function<std::string()> metrics_text;
};

}  // namespace herd::http::detail
