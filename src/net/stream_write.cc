// Stream's writing half: the direct write to an idle socket, the write queue and its flush, and
// shutdown (which waits for the queue). Completions and events are in stream.cc.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "herd/net/stream.h"

namespace herd {
namespace {

// Pieces of the write queue handed to one sendmsg/writev.
constexpr std::size_t kMaxIov = 64;

}  // namespace

// --- writing -----------------------------------------------------------------------------------

bool Stream::write(std::string data, DoneCallback cb) {
  std::size_t sent = 0;
  if (!cb && write_now(data, &sent)) return true;
  return enqueue(std::move(data), {}, std::move(cb), sent);
}

bool Stream::write(std::string_view data, DoneCallback cb) {
  std::size_t sent = 0;
  if (!cb && write_now(data, &sent)) return true;
  // Only what the socket did not take is copied.
  return enqueue(std::string(data.substr(sent)), {}, std::move(cb), 0);
}

bool Stream::write_no_copy(std::string_view data, DoneCallback cb) {
  std::size_t sent = 0;
  if (!cb && write_now(data, &sent)) return true;
  return enqueue({}, data, std::move(cb), sent);
}

bool Stream::write_now(std::string_view data, std::size_t* sent) {
  // The fast path of the common case (a response written to an idle socket): with nothing queued
  // and no callback owed, bytes the kernel takes at once need no queue entry and no completion.
  // Anything unusual (a queue, a connect or shutdown in progress, an error, closing) takes the
  // queue's path, which handles it.
  *sent = 0;
  if (!writes_.empty() || !fd_ || connecting_ || write_error_ || shutdown_requested_ ||
      is_closing() || data.empty()) {
    return false;
  }
  loop().check_thread("Stream::write called off the loop thread");
  ssize_t n;
  for (;;) {
    n = is_socket_ ? ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL)
                   : ::write(fd_.get(), data.data(), data.size());
    if (n >= 0 || errno == EAGAIN) break;
    if (errno == EINTR) continue;
    if (errno == ENOTSOCK && is_socket_) {
      is_socket_ = false;  // a pipe: write(2) from now on (see is_socket_)
      continue;
    }
    break;
  }
  if (n < 0) {
    // EAGAIN: the write waits in the queue for the socket. Any other error fails this write and
    // every later one; it is recorded here because the kernel reports a reset only once.
    if (errno != EAGAIN && errno != EWOULDBLOCK) write_error_ = Error::from_errno("write");
    return false;
  }
  *sent = static_cast<std::size_t>(n);
  return *sent == data.size();
}

bool Stream::enqueue(std::string owned, std::string_view external, DoneCallback cb,
                     std::size_t already_sent) {
  loop().check_thread("Stream::write called off the loop thread");
  if (is_closing()) {
    // on_close_requested() has run: queue behind the callbacks it failed, as a next tick too.
    loop().register_request();
    loop().next_tick([loop = &loop(), cb = std::move(cb)]() mutable {
      loop->unregister_request();
      if (cb) loop->invoke("Stream write", [&] { cb(fail(EBADF, "write: the stream is closed")); });
    });
    return false;
  }
  take_request();
  if (write_error_) {
    complete(std::move(cb), std::unexpected(*write_error_));
    return false;
  }
  if (!fd_) {
    complete(std::move(cb), fail(ENOTCONN, "write: the stream is not connected"));
    return false;
  }
  if (shutdown_requested_) {
    complete(std::move(cb), fail(EPIPE, "write: after shutdown"));
    return false;
  }
  PendingWrite& w = writes_.emplace_back();
  w.owned = std::move(owned);
  w.ptr = external.data();
  w.size = external.data() != nullptr ? external.size() : w.owned.size();
  w.offset = already_sent;
  w.cb = std::move(cb);
  queued_bytes_ += w.size - w.offset;
  // Only the first write of an empty queue goes out at once; later ones wait for their turn
  // behind the bytes the socket did not take yet. A write whose start the socket just took in
  // write_now() found the socket full: it waits for writability.
  if (writes_.size() == 1 && !connecting_ && already_sent == 0) flush_writes();
  update_interest();
  if (queued_bytes_ >= high_water_mark_) {
    need_drain_ = true;
    return false;
  }
  return true;
}

void Stream::flush_writes() {
  while (!writes_.empty() && fd_ && !connecting_ && !write_error_) {
    // Writes that are done (empty ones, or the remains of a partial write) complete first.
    while (!writes_.empty() && writes_.front().offset == writes_.front().size) {
      complete(std::move(writes_.front().cb), {});
      writes_.pop_front();
    }
    if (writes_.empty()) break;
    std::array<iovec, kMaxIov> iov;
    std::size_t count = 0;
    std::size_t total = 0;
    for (auto it = writes_.begin(); it != writes_.end() && count < kMaxIov; ++it) {
      std::size_t left = it->size - it->offset;
      if (left == 0) continue;
      iov[count].iov_base = const_cast<char*>(it->data()) + it->offset;
      iov[count].iov_len = left;
      total += left;
      ++count;
    }
    ssize_t n;
    if (is_socket_) {
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = count;
      n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    } else {
      n = ::writev(fd_.get(), iov.data(), static_cast<int>(count));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOTSOCK && is_socket_) {
        is_socket_ = false;  // a pipe: writev(2) from now on (see is_socket_)
        continue;
      }
      fail_writes(Error::from_errno("write"));
      return;
    }
    std::size_t sent = static_cast<std::size_t>(n);
    queued_bytes_ -= sent;
    while (sent > 0) {
      PendingWrite& w = writes_.front();
      std::size_t take = std::min(sent, w.size - w.offset);
      w.offset += take;
      sent -= take;
      if (w.offset == w.size) {
        complete(std::move(w.cb), {});
        writes_.pop_front();
      }
    }
    if (static_cast<std::size_t>(n) < total) break;  // the socket buffer is full
  }
  // Empty writes left at the front after the last byte went out.
  while (!writes_.empty() && writes_.front().offset == writes_.front().size && !write_error_) {
    complete(std::move(writes_.front().cb), {});
    writes_.pop_front();
  }
  if (writes_.empty() && shutdown_requested_ && !shutdown_done_ && !connecting_) do_shutdown();
}

void Stream::fail_writes(const Error& error) {
  if (!write_error_) write_error_ = error;
  for (PendingWrite& w : writes_) complete(std::move(w.cb), std::unexpected(error));
  writes_.clear();
  queued_bytes_ = 0;
  if (shutdown_requested_ && !shutdown_done_) {
    shutdown_done_ = true;
    complete(std::move(shutdown_cb_), std::unexpected(error));
  }
}

void Stream::shutdown(DoneCallback cb) {
  loop().check_thread("Stream::shutdown called off the loop thread");
  if (is_closing()) {
    loop().register_request();
    loop().next_tick([loop = &loop(), cb = std::move(cb)]() mutable {
      loop->unregister_request();
      if (cb) {
        loop->invoke("Stream shutdown", [&] { cb(fail(EBADF, "shutdown: the stream is closed")); });
      }
    });
    return;
  }
  take_request();
  if (shutdown_requested_)
    return complete(std::move(cb), fail(EPIPE, "shutdown: already shut down"));
  if (!fd_) return complete(std::move(cb), fail(ENOTCONN, "shutdown: the stream is not connected"));
  if (write_error_) return complete(std::move(cb), std::unexpected(*write_error_));
  shutdown_requested_ = true;
  shutdown_cb_ = std::move(cb);
  if (writes_.empty() && !connecting_) do_shutdown();
  update_interest();
}

void Stream::do_shutdown() {
  shutdown_done_ = true;
  Status status;
  if (::shutdown(fd_.get(), SHUT_WR) < 0) status = fail_errno("shutdown");
  complete(std::move(shutdown_cb_), std::move(status));
}

}  // namespace herd
