// How a connection ends: the graceful drain (Server::close), the close after the last answer
// with its linger, and the immediate close. Input, output and timeouts are in connection.cc.
#include <sys/ioctl.h>

#include <utility>

#include "herd/base/log.h"
#include "http/connection.h"

namespace herd::http::detail {

void Connection::begin_drain() {
  if (closed_ || lingering_) return;
  draining_ = true;
  if (parser_.in_message()) return;  // that request is answered, then the connection ends
  // A request may already be here, read but not parsed yet or still in the socket (a connection
  // accepted just before the close began, typical of a rolling reload): closing now would reset
  // it unanswered. It is parsed and answered, with Connection: close, as one in flight would be.
  int unread = 0;
  if (!input_.empty() || (::ioctl(stream_.fd(), FIONREAD, &unread) == 0 && unread > 0)) {
    update_reading();
    return;
  }
  if (queue_.empty()) {
    // Idle: connected but silent so far, or between keep-alive requests. Under load the next
    // request is most likely on its way already, and closing would make the client see a reset
    // or an EOF for it: it gets a short time to arrive and is answered with Connection: close.
    // A connection that stays silent is closed then, without an answer.
    std::uint64_t deadline = shared_.loop.now() + kDrainIdleMs;
    if (deadline_ == 0 || deadline < deadline_) set_wait(Wait::kIdle, deadline);
    update_reading();
    return;
  }
  // Answers still queued: they go out, the last with Connection: close, and no new request is read.
  stop_parsing();
  update_reading();
}

void Connection::finish_and_close() {
  if (closed_ || lingering_) return;
  lingering_ = true;
  stop_parsing();
  // Answers behind one that closed the connection (the handler's Connection: close) are lost.
  for (auto& ex : queue_) ex->detach(false);
  queue_.clear();
  if (current_) current_->detach(false);
  current_.reset();
  set_wait(Wait::kNone, 0);
  wait_ = Wait::kLinger;
  stream_.shutdown([this](Status status) { on_shutdown(std::move(status)); });
  update_reading();
}

void Connection::on_shutdown(Status status) {
  if (closed_) return;
  shutdown_done_ = true;
  if (!status || peer_eof_) {
    close_now();
    return;
  }
  // Every byte went to the kernel; give the client a moment to read it and close first.
  set_wait(Wait::kLinger, shared_.loop.now() + kLingerMs);
}

void Connection::close_now() {
  if (closed_) return;
  closed_ = true;
  timer_.stop();
  timer_due_ = 0;
  for (auto& ex : queue_) ex->detach(false);
  queue_.clear();
  if (current_) current_->detach(false);
  current_.reset();
  input_.clear();
  if (admitted_) --shared_.metrics.active_connections;
  stream_.close([this] { shared_.release(this); });
}

}  // namespace herd::http::detail
