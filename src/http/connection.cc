#include "http/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "herd/base/log.h"
#include "herd/http/response.h"

namespace herd::http::detail {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Stream's default high-water mark; an answer waiting for its turn is held to the same bound.
constexpr std::size_t kHighWaterMark = 64 * 1024;

// The earlier of two timeouts, where 0 means none.
std::uint64_t min_timeout(std::uint64_t a, std::uint64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

}  // namespace

Connection::Connection(ServerShared& shared, Fd fd, bool admitted)
    : shared_(shared),
      stream_(shared.loop, std::move(fd)),
      timer_(shared.loop),
      parser_(
          RequestParser::Limits{shared.options.max_header_bytes, shared.options.max_body_bytes}),
      admitted_(admitted) {
  // Answers are written whole, so Nagle could only delay them (pipelined or streamed ones
  // behind an unacknowledged segment). Fails harmlessly on Unix sockets.
  int one = 1;
  ::setsockopt(stream_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (admitted_) {
    ++shared_.metrics.active_connections;
    ++shared_.metrics.total_connections;
  }
}

Connection::~Connection() {
  for (auto& ex : queue_) ex->detach(false);
  if (current_) current_->detach(false);
  if (!closed_ && admitted_) --shared_.metrics.active_connections;
}

void Connection::start() {
  stream_.on_drain([this] { on_stream_drain(); });
  if (!admitted_) {
    // Over max_connections: answer 503 at once and close (the request is not read).
    auto ex = new_exchange(false, false, true);
    stop_parsing();
    ex->answer_error(503);
    update_reading();
    return;
  }
  wait_ = Wait::kIdle;
  update_wait();
  update_reading();
}

// --- input -------------------------------------------------------------------------------------

void Connection::on_read(Result<std::string_view> chunk) {
  if (closed_) return;
  if (!chunk) {
    close_now();  // ECONNRESET and the like: the client is gone
    return;
  }
  if (chunk->empty()) {
    peer_eof_ = true;
    // Still sending the last answer: the shutdown callback closes once it is out.
    if (lingering_ && !shutdown_done_) return update_reading();
    // Node's server (allowHalfOpen false): the client has gone, and with it whatever it was
    // still waiting for. Handlers see connected() turn false.
    close_now();
    return;
  }
  shared_.metrics.bytes_in += chunk->size();
  if (parse_stopped_ || lingering_) return;  // after the last request: dropped
  if (!input_.empty()) {
    // Reading stops while input waits, but a read batch may still be in flight.
    input_.append(*chunk);
    consume_input();
    return;
  }
  std::string_view data = *chunk;
  std::size_t used = process(data);
  if (used < data.size() && !closed_ && !parse_stopped_) input_.assign(data.substr(used));
  update_reading();
}

void Connection::consume_input() {
  if (closed_ || in_process_) return;
  if (!input_.empty() && can_parse()) {
    std::string data = std::move(input_);
    input_.clear();
    std::size_t used = process(data);
    if (used < data.size() && !closed_ && !parse_stopped_) input_.assign(data, used);
  }
  update_reading();
}

void Connection::schedule_resume() {
  // Not from here: this may be a handler's end(), and the next request's handler must not run
  // inside it.
  resume_.schedule(shared_.loop, [this] {
    consume_input();
    update_wait();
  });
}

bool Connection::can_parse() const {
  return !closed_ && !parse_stopped_ && !lingering_ && !write_blocked_ &&
         queue_.size() < kMaxPendingAnswers;
}

std::size_t Connection::process(std::string_view data) {
  in_process_ = true;
  std::size_t used = 0;
  while (used < data.size() && can_parse()) {
    std::size_t n = 0;
    RequestParser::Event event = parser_.execute(data.substr(used), &n);
    used += n;
    if (event == RequestParser::Event::kHeadersComplete) {
      on_headers();
    } else if (event == RequestParser::Event::kMessageComplete) {
      on_message();
    } else if (event == RequestParser::Event::kError) {
      log_debug("http: bad request ({}): {}", parser_.error_status(), parser_.error_reason());
      fail_request(parser_.error_status());
      break;
    }
  }
  in_process_ = false;
  // A request that ends the connection, answered before it completed (417): nothing is queued
  // that would close it on its way out.
  if (!closed_ && !lingering_ && parse_stopped_ && queue_.empty()) finish_and_close();
  update_wait();
  return used;
}

std::shared_ptr<Exchange> Connection::new_exchange(bool head_request, bool http10,
                                                   bool must_close) {
  std::shared_ptr<Exchange> ex;
  // The last finished exchange is reused once its Response is gone (the common case: the
  // handler answered at once), so a busy connection does not allocate one per request.
  if (retired_ && retired_.use_count() == 1) {
    ex = std::move(retired_);
  } else {
    ex = std::make_shared<Exchange>();
  }
  ex->begin(this, head_request, http10, must_close);
  queue_.push_back(ex);
  return ex;
}

void Connection::on_headers() {
  // The header block of a request with a body: it gets its exchange now, so that what the
  // server answers before the body (100, 417) keeps its place in the order.
  ++requests_;
  const Request& req = parser_.request();
  current_ = new_exchange(parser_.is_head(), req.version_minor() == 0, !parser_.keep_alive());
  if (parser_.bad_expectation()) {
    // As Node without a checkExpectation listener: 417, and the body (if any) is read and
    // dropped; the connection stays usable.
    parser_.discard_body();
    discard_message_ = true;
    std::shared_ptr<Exchange> ex = std::move(current_);
    ex->set_status(417);
    ex->end({});
    return;
  }
  if (parser_.expects_continue()) send(current_.get(), kContinue);
}

void Connection::on_message() {
  std::shared_ptr<Exchange> ex = std::move(current_);
  bool discard = std::exchange(discard_message_, false);
  if (!ex && !discard) {
    ++requests_;
    ex = new_exchange(parser_.is_head(), parser_.request().version_minor() == 0,
                      !parser_.keep_alive());
  }
  std::size_t max_requests = shared_.options.max_requests_per_connection;
  if (!parser_.keep_alive() || draining_ || (max_requests != 0 && requests_ >= max_requests)) {
    stop_parsing();
  }
  if (ex && parser_.bad_expectation()) {
    ex->set_status(417);  // a bodiless request with an expectation the server cannot meet
    ex->end({});
  } else if (ex) {
    dispatch(std::move(ex));
  }
  if (!closed_) parser_.next();
}

void Connection::dispatch(std::shared_ptr<Exchange> ex) {
  const Request& req = parser_.request();
  const std::string& metrics_path = shared_.options.metrics_path;
  if (!metrics_path.empty() && req.path() == metrics_path &&
      (req.method() == "GET" || req.method() == "HEAD")) {
    Response res(std::move(ex));
    res.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    res.end(shared_.metrics_text());
    return;
  }
  if (shared_.report.active()) ex->started_ns_ = HerdReport::now_ns();
  shared_.loop.invoke("http handler", [&] { shared_.handler(req, Response(std::move(ex))); });
}

void Connection::fail_request(int status) {
  stop_parsing();
  std::shared_ptr<Exchange> ex = std::move(current_);
  discard_message_ = false;
  if (!ex || ex->head_sent_ || ex->finished_) ex = new_exchange(false, false, true);
  ex->answer_error(status);
}

void Connection::stop_parsing() {
  parse_stopped_ = true;
  input_.clear();
}

// --- output ------------------------------------------------------------------------------------

bool Connection::send(Exchange* ex, std::string_view data) {
  if (queue_.empty() || queue_.front().get() != ex) {
    ex->out_.append(data);
    return ex->out_.size() < kHighWaterMark;
  }
  return write_out(data);
}

bool Connection::below_high_water(const Exchange* ex) const {
  if (queue_.empty() || queue_.front().get() != ex) return ex->out_.size() < kHighWaterMark;
  return !write_blocked_;
}

bool Connection::write_out(std::string_view data) {
  shared_.metrics.bytes_out += data.size();
  // The stream copies only what the socket does not take at once.
  if (stream_.write(data)) return true;
  on_write_blocked();
  return false;
}

void Connection::on_write_blocked() {
  if (!write_blocked_) {
    write_blocked_ = true;
    update_reading();
  }
  // Writes carry no callbacks (the common case needs none), so while blocked an empty write
  // behind the queued bytes reports a failed socket: on_drain never runs after a write error.
  if (!probe_pending_) {
    probe_pending_ = true;
    stream_.write(std::string(), [this](Status status) {
      probe_pending_ = false;
      if (!status) close_now();
    });
  }
}

void Connection::on_stream_drain() {
  if (closed_) return;
  write_blocked_ = false;
  run_front_drain();
  if (closed_) return;
  consume_input();
  update_wait();
}

void Connection::run_front_drain() {
  if (closed_ || write_blocked_ || queue_.empty()) return;
  std::shared_ptr<Exchange> ex = queue_.front();
  if (!ex->want_drain_ || !ex->drain_cb_) return;
  ex->want_drain_ = false;
  // Moved out while it runs: the callback may end the response, which drops drain_cb_.
  std::function<void()> cb = std::move(ex->drain_cb_);
  shared_.loop.invoke("http drain", [&] { cb(); });
  if (!ex->finished_ && ex->conn_ != nullptr && !ex->drain_cb_) ex->drain_cb_ = std::move(cb);
}

void Connection::schedule_front_drain() {
  front_drain_.schedule(shared_.loop, [this] { run_front_drain(); });
}

void Connection::finish(Exchange* ex) {
  if (!queue_.empty() && queue_.front().get() == ex) advance();
}

void Connection::advance() {
  while (!closed_ && !queue_.empty() && queue_.front()->finished_) {
    std::shared_ptr<Exchange> ex = std::move(queue_.front());
    queue_.pop_front();
    bool close = ex->close_;
    ex->detach(true);
    retired_ = std::move(ex);
    if (close) {
      finish_and_close();
      return;
    }
    if (queue_.empty()) break;
    Exchange* next = queue_.front().get();
    if (!next->out_.empty()) {
      write_out(next->out_);
      next->out_.clear();
    }
    if (next->want_drain_ && !write_blocked_) schedule_front_drain();
  }
  if (closed_ || lingering_) return;
  if (queue_.empty() && parse_stopped_) {
    finish_and_close();
    return;
  }
  if (!input_.empty() && !in_process_) schedule_resume();
  update_reading();
  if (!in_process_) update_wait();
}

bool Connection::closes_after(const Exchange* ex) const {
  // Once no request follows, the last queued answer is the connection's last.
  return parse_stopped_ && !queue_.empty() && queue_.back().get() == ex;
}

void Connection::on_head(Exchange* ex, int status) {
  int cls = status / 100;
  if (cls >= 1 && cls <= 5) ++shared_.metrics.requests_by_class[cls];
  if (ex->started_ns_ != 0) {
    shared_.report.record(HerdReport::now_ns() - ex->started_ns_);
    ex->started_ns_ = 0;
  }
  // An answer that ends the connection: no request after it will be answered.
  if (ex->close_ && !parse_stopped_) stop_parsing();
}

// --- reading, timeouts -------------------------------------------------------------------------

void Connection::update_reading() {
  if (closed_) return;
  // After the last request, reading goes on (to drop what comes and see the client leave);
  // before it, reading stops while parsing is paused.
  bool want =
      !peer_eof_ && (parse_stopped_ || lingering_ ||
                     (input_.empty() && !write_blocked_ && queue_.size() < kMaxPendingAnswers));
  if (want && !stream_.is_reading()) {
    stream_.read_start([this](Result<std::string_view> chunk) { on_read(std::move(chunk)); });
  } else if (!want && stream_.is_reading()) {
    stream_.read_stop();
  }
}

void Connection::update_wait() {
  if (closed_ || lingering_) return;
  const ServerOptions& o = shared_.options;
  std::uint64_t now = shared_.loop.now();
  if (parser_.in_message()) {
    // Deadlines run from the message's first byte (as seen: at most one read late), and a
    // pipelined message gets its own even when the one before it was in the same state.
    const std::uint64_t message = parser_.messages_begun();
    const bool same_message = wait_message_ == message;
    if (!same_message) message_start_ = now;
    wait_message_ = message;
    if (!parser_.headers_done()) {
      if (wait_ != Wait::kHeaders || !same_message) {
        std::uint64_t t = min_timeout(o.headers_timeout_ms, o.request_timeout_ms);
        set_wait(Wait::kHeaders, t == 0 ? 0 : message_start_ + t);
      }
    } else if (wait_ != Wait::kBody || !same_message) {
      std::uint64_t t = o.request_timeout_ms;
      set_wait(Wait::kBody, t == 0 ? 0 : message_start_ + t);
    }
  } else if (queue_.empty() && !parse_stopped_) {
    // Idle: re-armed whenever a request went by since it was last armed.
    if (wait_ != Wait::kIdle || idle_since_requests_ != requests_) {
      idle_since_requests_ = requests_;
      // Before the first request the connection waits as long as for a header block.
      std::uint64_t t = requests_ == 0 ? min_timeout(o.headers_timeout_ms, o.keep_alive_timeout_ms)
                                       : o.keep_alive_timeout_ms;
      set_wait(Wait::kIdle, t == 0 ? 0 : now + t);
    }
  } else if (wait_ != Wait::kNone) {
    set_wait(Wait::kNone, 0);  // the handler has the request: no timeout
  }
}

void Connection::set_wait(Wait wait, std::uint64_t deadline) {
  wait_ = wait;
  deadline_ = deadline;
  if (deadline == 0) return;
  // A timer that fires no later than the new deadline stays: when it fires early it re-arms
  // itself for what is left. Only a nearer deadline moves it (rare: most moves are later).
  if (timer_due_ != 0 && timer_due_ <= deadline) return;
  timer_due_ = deadline;
  std::uint64_t now = shared_.loop.now();
  timer_.start([this] { on_timer(); }, deadline > now ? deadline - now : 0);
}

void Connection::on_timer() {
  timer_due_ = 0;
  if (closed_ || deadline_ == 0) return;
  std::uint64_t now = shared_.loop.now();
  if (now < deadline_) {
    timer_due_ = deadline_;
    timer_.start([this] { on_timer(); }, deadline_ - now);
    return;
  }
  deadline_ = 0;
  switch (wait_) {
    case Wait::kIdle:
    case Wait::kLinger:
      close_now();
      break;
    case Wait::kHeaders:
    case Wait::kBody:
      log_debug("http: request timed out; answering 408");
      fail_request(408);
      break;
    case Wait::kNone:
      break;
  }
}

}  // namespace herd::http::detail
