// detail::Connection: one accepted HTTP/1.x connection: its socket, its parser, its queue of
// answers in request order, and its one timer.
//
// Flow: bytes read go to the parser; each complete request gets an Exchange at the back of the
// queue and is handed to the handler. The exchange at the front writes straight to the socket;
// the others keep their bytes until their turn. When the last answer of a connection that must
// end has gone out, the connection shuts its sending side, reads (and drops) what the client
// still sends until it closes or a short linger time passes, then closes: closing at once with
// unread bytes would make the kernel reset the connection and could destroy the answer in flight.
//
// Backpressure: parsing (and then reading) stops while the socket's write queue is above its
// high-water mark, or while kMaxPendingAnswers answers are queued; the bytes already read wait in
// `input_` (at most one read's worth), and parsing resumes when the queue drains.
//
// Timeouts share one Timer, re-armed lazily: moving a deadline later only records it, and the
// timer, when it fires early, re-arms itself for the rest. Waiting for the first byte or idle
// between requests: keep-alive (silent close). Inside a header block: headers_timeout, then 408.
// Inside a body: request_timeout from the request's first byte, then 408. Waiting for the
// handler: none. After the last answer was sent: the linger time.
//
// Lifetime: owned by the server. It is deleted only in its stream's close callback (through
// ServerShared::release) or by the server's destructor, never inside one of its own callbacks.
// Threads: the server's loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "herd/base/detail/fifo.h"
#include "herd/base/detail/intrusive_list.h"
#include "herd/base/fd.h"
#include "herd/loop/detail/life_token.h"
#include "herd/loop/timer.h"
#include "herd/net/stream.h"
#include "http/exchange.h"
#include "http/request_parser.h"
#include "http/server_shared.h"

namespace herd::http::detail {

class Connection {
 public:
  // Answers queued (parsed and not yet sent whole) before parsing pauses.
  static constexpr std::size_t kMaxPendingAnswers = 16;
  // How long a closing connection waits for the client to close after the last answer.
  static constexpr std::uint64_t kLingerMs = 2'000;
  // Graceful close: how long an idle connection (nothing sent yet, or between keep-alive
  // requests) may take to send one more request (answered with Connection: close) before it is
  // closed.
  static constexpr std::uint64_t kDrainIdleMs = 1'000;

  // `admitted`: counted in active connections; false for one answered 503 at once.
  Connection(ServerShared& shared, Fd fd, bool admitted);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // The server is closing: no new request starts; an idle connection closes now; the last
  // answer carries Connection: close.
  void begin_drain();
  bool closed() const { return closed_; }

  // --- for Exchange ---------------------------------------------------------------------------
  // Writes `data` for `ex` (or keeps it until ex's turn). False at or above the high-water mark.
  bool send(Exchange* ex, std::string_view data);
  bool below_high_water(const Exchange* ex) const;
  // `ex` has finished; if it is at the front, it and the finished ones after it leave the queue.
  void finish(Exchange* ex);
  // Whether the answer being formatted for `ex` must be the connection's last.
  bool closes_after(const Exchange* ex) const;
  // The head of `ex` was formatted (status counted in the metrics).
  void on_head(Exchange* ex, int status);
  std::string_view date_line() { return shared_.date.line(); }
  // Closes at once (a truncated response, a write error, the client gone).
  void abort() { close_now(); }

  herd::detail::ListNode node_{this};

 private:
  enum class Wait { kNone, kIdle, kHeaders, kBody, kLinger };

  void on_read(Result<std::string_view> chunk);
  std::size_t process(std::string_view data);
  void consume_input();
  void schedule_resume();
  bool can_parse() const;
  void on_headers();
  void on_message();
  void dispatch(std::shared_ptr<Exchange> ex);
  std::shared_ptr<Exchange> new_exchange(bool head_request, bool http10, bool must_close);
  void fail_request(int status);
  void stop_parsing();
  void advance();
  bool write_out(std::string_view data);
  void on_write_blocked();
  void on_stream_drain();
  void run_front_drain();
  void schedule_front_drain();
  void update_reading();
  void update_wait();
  void set_wait(Wait wait, std::uint64_t deadline);
  void on_timer();
  void finish_and_close();
  void on_shutdown(Status status);
  void close_now();

  ServerShared& shared_;
  Stream stream_;
  Timer timer_;
  RequestParser parser_;
  herd::detail::Fifo<std::shared_ptr<Exchange>> queue_;
  std::shared_ptr<Exchange> current_;    // the message being parsed, when it got one early
  std::shared_ptr<Exchange> retired_;    // reused once no Response holds it any more
  std::string input_;                    // read but not parsed yet (parsing paused)
  herd::detail::DeferOnce resume_;       // consume_input() after a handler ended, at most once
  herd::detail::DeferOnce front_drain_;  // run_front_drain(), at most once at a time

  Wait wait_ = Wait::kNone;
  std::uint64_t deadline_ = 0;       // loop time when `wait_` runs out; 0: never
  std::uint64_t timer_due_ = 0;      // loop time the timer is armed for; 0: not armed
  std::uint64_t message_start_ = 0;  // loop time the current message was first seen
  std::uint64_t wait_message_ = 0;   // parser_.messages_begun() when `wait_` was set
  std::uint64_t requests_ = 0;
  std::uint64_t idle_since_requests_ = ~std::uint64_t{0};  // requests_ when kIdle was armed

  bool admitted_;
  bool closed_ = false;
  bool in_process_ = false;
  bool parse_stopped_ = false;    // no further request will be parsed
  bool draining_ = false;         // the server is closing
  bool discard_message_ = false;  // the current message was answered early (417)
  bool lingering_ = false;        // the last answer is queued; waiting for the client to close
  bool shutdown_done_ = false;
  bool peer_eof_ = false;
  bool write_blocked_ = false;
  bool probe_pending_ = false;
};

}  // namespace herd::http::detail
