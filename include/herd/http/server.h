// http::Server: an HTTP/1.1 server on the event loop, with llhttp (Node's parser) underneath.
//
// In the shape of Node's http.createServer: one handler gets every request; keep-alive and
// pipelining (answers in request order, whatever order the handler finishes them in); Content-
// Length and chunked request bodies (buffered: the handler gets the whole request); HEAD;
// Expect: 100-continue ("100 Continue" is sent before the body is read; any other expectation is
// answered 417 without calling the handler, as Node does); limits with Node's defaults; graceful
// close; sd_notify readiness; systemd/herd socket activation; metrics.
//
// Errors the server answers itself, then closes the connection (llhttp runs strict: none of its
// lenient flags is on):
//   400 malformed request: bad syntax, bare LF, obs-fold (also of an empty first line), a header
//       name that is not a token (a space or tab in it), conflicting Content-Length /
//       Transfer-Encoding or a Transfer-Encoding not ending in chunked (no smuggling), chunk
//       data not followed by CRLF, chunk extensions over 4 KiB on one chunk-size line, a
//       missing or repeated Host on HTTP/1.1, CONNECT, the HTTP/2 preface
//   408 the header block did not arrive within headers_timeout_ms, or the whole request not
//       within request_timeout_ms (a connection that sent nothing is closed without an answer)
//   413 the body is larger than max_body_bytes (at once when Content-Length says so)
//   414 the request line alone is larger than max_header_bytes (nginx's answer; Node's is 431)
//   431 the header block is larger than max_header_bytes
//   503 max_connections reached (the new connection is answered at once and closed)
//   505 an HTTP major version other than 1 (nginx's answer)
// A client that closes its side (EOF) is gone, as for Node's server: answers it has not
// received are dropped and their Responses turn disconnected.
//
// Backpressure: the server stops reading a connection while its write queue is above the
// high-water mark or while 16 answers are queued on it, so a client that does not read cannot
// make the server buffer without bound.
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

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/http/request.h"
#include "herd/http/response.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"

namespace herd::http {

// `req` is valid during the call only (copy what a later answer needs); `res` may be kept.
using Handler = std::function<void(const Request& req, Response res)>;

struct ServerOptions {
  std::size_t max_header_bytes = 16 * 1024;     // Node's --max-http-header-size: 431 beyond
  std::size_t max_body_bytes = 1024 * 1024;     // buffered body limit: 413 beyond
  std::uint64_t headers_timeout_ms = 60'000;    // Node's headersTimeout: 408
  std::uint64_t request_timeout_ms = 300'000;   // Node's requestTimeout: whole request, 408
  std::uint64_t keep_alive_timeout_ms = 5'000;  // Node's keepAliveTimeout: idle connections close
  // Each timeout may be 0 (none). A new connection waits for its first byte as long as the
  // shorter of headers_timeout_ms and keep_alive_timeout_ms, then is closed without an answer.
  std::size_t max_connections = 0;              // 0: unlimited; beyond it, 503
  std::size_t max_requests_per_connection = 0;  // 0: unlimited; the last one gets Connection: close
  // The path that serves Prometheus text to GET and HEAD (e.g. "/metrics"; the query is ignored)
  // instead of the handler; empty: none (opt-in).
  std::string metrics_path;
};

// Counters since the server started (Prometheus names in parentheses).
struct ServerMetrics {
  // Final responses by status / 100, counted when the head is written, the server's own error
  // answers included (herd_http_requests_total{code="2xx"}; index 0 is unused).
  std::uint64_t requests_by_class[6] = {};
  std::uint64_t active_connections = 0;  // herd_http_active_connections (not those answered 503)
  std::uint64_t total_connections = 0;   // herd_http_connections_total (the same, since start)
  std::uint64_t bytes_in = 0;            // herd_http_received_bytes_total (read from clients)
  std::uint64_t bytes_out = 0;           // herd_http_sent_bytes_total (queued for sending)
  // herd_event_loop_lag_seconds: how late a 500 ms timer of the server ran, last sample (0 under
  // a millisecond).
  double loop_lag_seconds = 0;
};

class Server {
 public:
  Server(EventLoop& loop, Handler handler, ServerOptions options = {});
  // Closes everything at once (no graceful close): connections are dropped and Responses kept
  // by handlers turn disconnected. Not from inside one of the server's own callbacks (a
  // handler, a drain callback); from close()'s `done`, or any other callback, it is fine.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on `address`. When the process was started with LISTEN_FDS/LISTEN_PID for it (by
  // systemd or herd), adopts the inherited socket whose name (LISTEN_FDNAMES) or bound address
  // matches instead of binding. Once listening, sends READY=1 to NOTIFY_SOCKET if set, and when
  // the process is watched (sd_watchdog_enabled(): herd's `watchdog` setting, systemd's
  // WatchdogSec) WATCHDOG=1 every half interval from this loop, until the server is destroyed,
  // so that a stuck loop gets the process restarted.
  Status listen(const Address& address);
  // Serves a connection accepted elsewhere (by a cluster primary, or a Listener the caller owns)
  // as if this server had accepted it: the same options, limits, metrics and graceful close.
  // After close() the connection is closed at once, unanswered.
  void serve_connection(Fd connection);
  // The addresses actually listened on (with kernel-chosen ports).
  std::vector<Address> local_addresses() const;

  // Graceful close: takes the connections already waiting in the listening sockets' queues,
  // then stops accepting (the listening sockets are closed: new connections are refused, or,
  // for a socket other processes share, wait for them), lets requests in flight finish (a request
  // being received or already waiting in the socket is still answered), gives idle connections
  // (nothing sent yet, or between keep-alive requests) 1 s to send one more request and closes them
  // if they stay silent, and gives each connection's last answer Connection: close, then calls
  // `done` from the loop (never from inside close()) once every connection is closed. Sends
  // STOPPING=1. Calling it again only adds `done`. listen() fails (EINVAL) afterwards. Destroying
  // the server before the close completes drops `done` uncalled.
  void close(std::function<void()> done = {});

  const ServerMetrics& metrics() const;
  // The metrics in Prometheus text format.
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The seed's shutdown pattern: on SIGINT or SIGTERM, close `server` gracefully and let the loop
// end (exit code 0); if that takes longer than `force_after`, log a message and _exit(1).
// The object owns the signal handles (unreferenced: they do not keep the loop alive, as Node's
// signal listeners do not); keep it alive as long as the server. A second signal while closing
// is logged; the forced exit stays the bound.
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
