// MetricsListener: the daemon's optional HTTP endpoint for Prometheus and for orchestrators'
// probes, on a loopback port unless another address is asked for (--metrics-addr).
//
// A deliberately tiny responder on herd's net layer (Listener + Stream), not the HTTP server:
// the daemon keeps a small memory footprint, and one read-only endpoint needs no keep-alive,
// pipelining or bodies. Each connection sends one request; the listener answers it and closes:
//   GET|HEAD /metrics (any query)  200, Content-Type kPrometheusContentType, body from `render`
//   GET|HEAD /healthz              200 "ok": the daemon answers (liveness)
//   GET|HEAD /readyz               200 "ok" when `not_ready` returns "", else 503 with what it
//                                  returned (readiness)
//   another path                   404
//   another method                 405 (Allow: GET, HEAD)
//   not an HTTP/1.x request line   400;  headers over 8 KiB  431
// A connection that sends no complete request within 10 s is closed without an answer, and at
// most 32 are served at once (more are closed at accept), so a stuck or hostile client cannot
// make the daemon hold descriptors or memory.
//
// The listener and its connections are unreferenced: they never keep the daemon's loop alive.
// Threads: the loop's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "herd/base/error.h"
#include "herd/loop/event_loop.h"
#include "herd/net/listener.h"

namespace herd::manager {

// The port named by `text` ("9209"; 0 asks the kernel for a free one). EINVAL, with a message
// naming `what` ("--metrics-port" or "HERD_METRICS_PORT"), when it is not a whole number in
// 0..65535.
Result<std::uint16_t> parse_metrics_port(std::string_view text, std::string_view what);

// The address named by `text`: an IPv4 or IPv6 literal ("127.0.0.1", "0.0.0.0", "::1", "::",
// "[::]") or "localhost" (127.0.0.1); returned without brackets. EINVAL, with a message naming
// `what` ("--metrics-addr" or "HERD_METRICS_ADDR"), for anything else (no DNS lookups).
Result<std::string> parse_metrics_addr(std::string_view text, std::string_view what);

// Where the listener serves: the default stays loopback.
struct MetricsEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

class MetricsListener {
 public:
  // `render` produces the body of each GET /metrics, `not_ready` says in a line what is not
  // ready for GET /readyz ("" when all is; absent: always ready). Both are called on the loop,
  // once per request of theirs.
  MetricsListener(EventLoop& loop, std::function<std::string()> render,
                  std::function<std::string()> not_ready = {});
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds `endpoint` (host as parse_metrics_addr returns it) and starts serving. Errors name the
  // address ("bind 127.0.0.1:9209: Address already in use").
  Status listen(const MetricsEndpoint& endpoint);
  Status listen(std::uint16_t port) { return listen(MetricsEndpoint{"127.0.0.1", port}); }
  // "127.0.0.1:<port>" or "[::]:<port>" once listening (the kernel's port after port 0); ""
  // before.
  const std::string& address() const { return address_; }
  // Stops accepting and drops the open connections.
  void close();

 private:
  class Connection;
  void on_connection(Fd fd);
  void forget(Connection* c);

  EventLoop& loop_;
  std::function<std::string()> render_;
  std::function<std::string()> not_ready_;
  Listener listener_;
  std::string address_;
  std::map<Connection*, std::unique_ptr<Connection>> connections_;
};

}  // namespace herd::manager
