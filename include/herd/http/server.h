// http::Server: an HTTP/1.1 server on the event loop, with llhttp (Node's parser) underneath.
//
// In the shape of Node's http.createServer: one handler gets every request; keep-alive and
// pipelining; Content-Length and chunked bodies; HEAD; Expect: 100-continue; limits with Node's
// defaults; graceful close; sd_notify readiness; systemd/herd socket activation; metrics.
//
// Errors the server answers itself, then closes the connection:
//   400 malformed request (also conflicting Content-Length / Transfer-Encoding: no smuggling)
//   408 the header block did not arrive within headers_timeout_ms
//   413 the body is larger than max_body_bytes
//   431 the header block is larger than max_header_bytes
//   503 max_connections reached (the new connection is answered and closed)
//
// Threads: loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "herd/address.h"
#include "herd/error.h"
#include "herd/event_loop.h"
#include "herd/http/request.h"
#include "herd/http/response.h"

namespace herd::http {

// `req` is valid during the call only (copy what a later answer needs); `res` may be kept.
using Handler = std::function<void(const Request& req, Response res)>;

struct ServerOptions {
  std::size_t max_header_bytes = 16 * 1024;     // Node's --max-http-header-size: 431 beyond
  std::size_t max_body_bytes = 1024 * 1024;     // buffered body limit: 413 beyond
  std::uint64_t headers_timeout_ms = 60'000;    // Node's headersTimeout: 408
  std::uint64_t request_timeout_ms = 300'000;   // Node's requestTimeout: whole request, 408
  std::uint64_t keep_alive_timeout_ms = 5'000;  // Node's keepAliveTimeout: idle connections close
  std::size_t max_connections = 0;              // 0: unlimited
  std::size_t max_requests_per_connection = 0;  // 0: unlimited
  // The path that serves Prometheus text (e.g. "/metrics"); empty: none (opt-in).
  std::string metrics_path;
};

// Counters since the server started (Prometheus names in parentheses).
struct ServerMetrics {
  std::uint64_t requests_by_class[6] = {};  // index = status / 100 (herd_http_requests_total)
  std::uint64_t active_connections = 0;     // herd_http_active_connections
  std::uint64_t total_connections = 0;      // herd_http_connections_total
  std::uint64_t bytes_in = 0;               // herd_http_received_bytes_total
  std::uint64_t bytes_out = 0;              // herd_http_sent_bytes_total
  double loop_lag_seconds = 0;              // herd_event_loop_lag_seconds (last sample)
};

class Server {
 public:
  Server(EventLoop& loop, Handler handler, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on `address`. When the process was started with LISTEN_FDS/LISTEN_PID for it (by
  // systemd or herd), adopts the inherited socket whose name (LISTEN_FDNAMES) or bound address
  // matches instead of binding. Once listening, sends READY=1 to NOTIFY_SOCKET if set.
  Status listen(const Address& address);
  // The addresses actually listened on (with kernel-chosen ports).
  std::vector<Address> local_addresses() const;

  // Graceful close: stops accepting, closes idle keep-alive connections, lets in-flight requests
  // finish (their responses carry Connection: close), then calls `done`. Sends STOPPING=1.
  void close(std::function<void()> done = {});

  const ServerMetrics& metrics() const;
  // The metrics in Prometheus text format.
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The seed's shutdown pattern: on SIGINT or SIGTERM, close `server` gracefully and let the loop
// end (exit code 0); if that takes longer than `force_after`, exit(1) with a message.
// The returned object owns the signal handles; keep it alive as long as the server.
class GracefulShutdown {
 public:
  GracefulShutdown(EventLoop& loop, Server& server,
                   std::chrono::milliseconds force_after = std::chrono::seconds(10));
  ~GracefulShutdown();
  GracefulShutdown(const GracefulShutdown&) = delete;
  GracefulShutdown& operator=(const GracefulShutdown&) = delete;

  // Begins the same shutdown as a signal would (for tests and programmatic stops).
  void begin(const char* reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd::http
