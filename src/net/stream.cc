#include "herd/net/stream.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>
#include <vector>

#include "herd/base/log.h"

namespace herd {
namespace {

// libuv reads at most 32 times per readiness event; the same bound keeps one fast sender from
// starving the other descriptors of the poll batch.
constexpr int kMaxReadsPerEvent = 32;
constexpr std::size_t kReadBufferSize = 64 * 1024;

// One read buffer per thread, shared by every stream of the loops on that thread: a read
// callback gets a view that lives only until it returns, and no callback can start another
// read of this thread's streams before it returns.
char* read_buffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[kReadBufferSize]);
  return buffer.get();
}

}  // namespace

Stream::Stream(EventLoop& loop) : Handle(loop) {}

Stream::Stream(EventLoop& loop, Fd fd) : Stream(loop) {
  if (fd) attach(std::move(fd));
}

Stream::~Stream() {
  destroy_slot().mark_destroyed();
  if (watcher_) watcher_->stop();
  deactivate();
  // Callbacks that never ran are dropped with the stream; the loop must not wait for them.
  for (; requests_ > 0; --requests_) loop().unregister_request();
}

void Stream::attach(Fd fd) {
  fd_ = std::move(fd);
  is_socket_ = true;  // until a write says ENOTSOCK: no fstat per connection
  watcher_.emplace(loop(), fd_.get());
  // Only the Stream counts as a live handle; its watcher is an implementation detail.
  watcher_->unref();
  watcher_->set_callback([this](std::uint32_t events) { on_events(events); });
}

void Stream::take_request() {
  loop().register_request();
  ++requests_;
}

// --- connect -----------------------------------------------------------------------------------

Status Stream::connect(const Address& address, DoneCallback cb) {
  loop().check_thread("Stream::connect called off the loop thread");
  // The address is formatted only for an error: a connect that works costs no string.
  if (fd_ || is_closing()) {
    return fail(EINVAL, fmt::format("connect {}: the stream already has a descriptor",
                                    address.to_string()));
  }
  auto sock = Fd::socket(address.family(), SOCK_STREAM);
  if (!sock) {
    return fail(sock.error().code(), fmt::format("connect {}: socket", address.to_string()));
  }
  int r = ::connect(sock->get(), address.data(), address.size());
  int code = r < 0 ? errno : 0;
  // EINTR: the connect goes on in the background, as with EINPROGRESS. ECONNREFUSED at once
  // (Unix sockets, sometimes loopback TCP) goes through the callback, as libuv does, so callers
  // handle a refusal in one place.
  bool in_progress = code == EINPROGRESS || code == EINTR;
  if (code != 0 && !in_progress && code != ECONNREFUSED) {
    return fail(code, fmt::format("connect {}", address.to_string()));
  }
  attach(std::move(*sock));
  take_request();
  peer_ = address;
  if (in_progress) {
    connecting_ = true;
    connect_cb_ = std::move(cb);
    update_interest();
    return {};
  }
  if (code == ECONNREFUSED) {
    Error error(code, fmt::format("connect {}", address.to_string()));
    write_error_ = error;
    complete(std::move(cb), std::unexpected(std::move(error)));
  } else {
    complete(std::move(cb), {});
  }
  update_interest();
  return {};
}

bool Stream::finish_connect(bool trouble) {
  int error = 0;
  // Writable with neither error nor hang-up: the kernel reports a connecting socket writable
  // only once the handshake is done, so it succeeded; SO_ERROR is asked only otherwise (one
  // system call less per connection than libuv, which always asks).
  if (trouble) {
    socklen_t len = sizeof(error);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
  }
  if (error == EINPROGRESS) return true;  // a spurious wake-up: still connecting
  connecting_ = false;
  Status status;
  if (error != 0) {
    status = fail(error, "connect " + peer_.to_string());
    write_error_ = status.error();
    // Writes queued for after the connect cannot be sent.
    fail_writes(Error(ECANCELED, "write: the connect failed"));
  }
  update_interest();
  // Called directly: this is the I/O callback of the connect, as in libuv.
  DoneCallback cb = std::move(connect_cb_);
  detail::DestroyGuard guard(destroy_slot());
  --requests_;
  loop().unregister_request();
  if (cb) loop().invoke("Stream connect", [&] { cb(std::move(status)); });
  return !guard.destroyed();
}

// --- reading -----------------------------------------------------------------------------------

void Stream::read_start(ReadCallback cb) {
  loop().check_thread("Stream::read_start called off the loop thread");
  read_cb_ = std::move(cb);
  if (is_closing()) return fail_read_later(Error(EBADF, "read: the stream is closed"));
  if (!fd_) return fail_read_later(Error(ENOTCONN, "read: the stream is not connected"));
  reading_ = true;
  update_interest();
}

void Stream::read_stop() {
  loop().check_thread("Stream::read_stop called off the loop thread");
  if (!reading_) return;
  reading_ = false;
  update_interest();
}

void Stream::fail_read_later(Error error) {
  reading_ = false;
  loop().defer([this, life = life_.watch(), error = std::move(error)]() mutable {
    if (life.expired() || !read_cb_) return;
    ReadCallback cb = std::move(read_cb_);
    loop().invoke("Stream read", [&] { cb(std::unexpected(std::move(error))); });
    if (!life.expired() && !read_cb_) read_cb_ = std::move(cb);
  });
}

bool Stream::handle_readable() {
  detail::DestroyGuard guard(destroy_slot());
  char* buffer = read_buffer();
  for (int i = 0; i < kMaxReadsPerEvent && reading_ && fd_; ++i) {
    ssize_t n = ::read(fd_.get(), buffer, kReadBufferSize);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Result<std::string_view> chunk;
    if (n < 0) {
      chunk = fail_errno("read");
      reading_ = false;
    } else if (n == 0) {
      chunk = std::string_view();
      reading_ = false;  // end of stream: nothing more will come
    } else {
      chunk = std::string_view(buffer, static_cast<std::size_t>(n));
    }
    if (!reading_) update_interest();
    // Moved out for the call, so that the callback may replace itself with read_start().
    ReadCallback cb = std::move(read_cb_);
    if (cb) loop().invoke("Stream read", [&] { cb(std::move(chunk)); });
    if (guard.destroyed()) return false;
    if (!read_cb_) read_cb_ = std::move(cb);
    // A short read emptied the socket buffer; another read would only return EAGAIN.
    if (n > 0 && static_cast<std::size_t>(n) < kReadBufferSize) break;
  }
  return true;
}

// --- completions -------------------------------------------------------------------------------

void Stream::complete(DoneCallback cb, Status status) {
  // Every write, shutdown and connect took a request; its completion gives it back.
  completed_.push_back(Completion{std::move(cb), std::move(status)});
  schedule_completions();
}

void Stream::schedule_completions() {
  // Not run if the stream is destroyed first: its destructor returned the requests.
  completion_run_.schedule(loop(), [this] { run_completions(); });
}

void Stream::run_completions() {
  detail::DestroyGuard guard(destroy_slot());
  // Only the completions known now: a callback that writes again, and whose write completes at
  // once, waits for the next pending round instead of looping here.
  std::size_t n = completed_.size();
  for (std::size_t i = 0; i < n && !completed_.empty(); ++i) {
    // Taken one at a time, so that close() from a callback finds the rest in completed_ and
    // queues them, in order, ahead of the ECANCELED ones.
    Completion c = std::move(completed_.front());
    completed_.pop_front();
    --requests_;
    loop().unregister_request();
    if (c.cb) loop().invoke("Stream write", [&] { c.cb(std::move(c.status)); });
    if (guard.destroyed()) return;
  }
  // As Node's streams: no drain once the end was asked for, since no write may follow.
  if (need_drain_ && writes_.empty() && !write_error_ && !shutdown_requested_ && !is_closing()) {
    need_drain_ = false;
    Callback cb = std::move(drain_cb_);
    if (cb) loop().invoke("Stream drain", [&] { cb(); });
    if (guard.destroyed()) return;
    if (!drain_cb_) drain_cb_ = std::move(cb);
  }
}

// --- events and interest -----------------------------------------------------------------------

void Stream::on_events(std::uint32_t events) {
  constexpr std::uint32_t kTrouble = kHangup | kIoError;
  if (connecting_ && (events & (kWritable | kTrouble))) {
    if (!finish_connect((events & kTrouble) != 0)) return;
    if (connecting_ || is_closing()) return;
  }
  if (reading_ && (events & (kReadable | kTrouble))) {
    if (!handle_readable()) return;
    if (is_closing()) return;
  }
  if (!writes_.empty() && (events & (kWritable | kTrouble))) flush_writes();
  update_interest();
}

void Stream::update_interest() {
  if (!watcher_ || !fd_ || is_closing()) return;
  std::uint32_t want = 0;
  if (connecting_) {
    want = kWritable;
  } else {
    if (reading_) want |= kReadable;
    if (!writes_.empty() && !write_error_) want |= kWritable;
  }
  if (want != watcher_->events()) {
    if (auto s = watcher_->start(want); !s) {
      // epoll refused the descriptor (a regular file, or out of memory): nothing on it can
      // make progress, so fail everything that waits.
      Error error = s.error();
      watcher_->stop();
      want = 0;
      if (connecting_) {
        connecting_ = false;
        complete(std::move(connect_cb_), std::unexpected(error));
      }
      fail_writes(error);
      if (reading_) fail_read_later(error);
    }
  }
  if (want != 0 || connecting_) {
    activate();
  } else {
    deactivate();
  }
}

// --- close -------------------------------------------------------------------------------------

void Stream::on_close_requested() {
  if (watcher_) watcher_->stop();
  reading_ = false;
  fd_.reset();
  need_drain_ = false;
  bool shutdown_pending = shutdown_requested_ && !shutdown_done_;
  if (completed_.empty() && writes_.empty() && !connecting_ && !shutdown_pending) return;
  // Everything still waiting fails now, behind the completions that are already known, and
  // all of it runs as next ticks: before the close callback, which may destroy the stream.
  std::vector<Completion> out;
  out.reserve(completed_.size() + writes_.size() + 2);
  for (Completion& c : completed_) out.push_back(std::move(c));
  completed_.clear();
  auto canceled = [](const char* what) { return fail(ECANCELED, what); };
  if (connecting_) {
    connecting_ = false;
    out.push_back(Completion{std::move(connect_cb_), canceled("connect: the stream was closed")});
  }
  for (PendingWrite& w : writes_) {
    out.push_back(Completion{std::move(w.cb), canceled("write: the stream was closed")});
  }
  writes_.clear();
  queued_bytes_ = 0;
  if (shutdown_pending) {
    shutdown_done_ = true;
    out.push_back(Completion{std::move(shutdown_cb_), canceled("shutdown: the stream was closed")});
  }
  // The ticks own these requests now; a destroyed stream must not return them twice.
  requests_ -= out.size();
  loop().next_tick([loop = &loop(), out = std::move(out)]() mutable {
    for (Completion& c : out) {
      loop->unregister_request();
      if (c.cb) loop->invoke("Stream write", [&] { c.cb(std::move(c.status)); });
    }
  });
}

}  // namespace herd
