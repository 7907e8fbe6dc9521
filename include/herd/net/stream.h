// Stream: a non-blocking, connected byte stream (TCP or Unix socket, pipe) on the loop.
//
// Reading: read_start(cb) delivers each chunk as it arrives; the view is valid only during the
// call. An empty chunk means end of stream (the peer shut down its sending side) and stops
// reading; an Error means the stream failed and reading stopped. Errors read_start() meets
// itself (no descriptor, a closing stream, epoll refusing the descriptor) reach `cb` too, from
// the loop, never from inside read_start().
//
// Writing: write() copies the data into a write queue and sends as much as the socket takes, at
// once if the queue was empty. It returns false once the queued bytes reach the high-water mark
// (default 64 KiB): the caller should stop producing until the drain callback runs. Each write's
// callback runs after all of its bytes went to the kernel, or with the error that failed it;
// callbacks never run from inside write() itself (they are deferred to the loop's pending phase),
// so a callback can always write again. Write callbacks run in the order of the writes. After a
// write error every later write and shutdown fails with the same error. Writes made before
// connect() completes are queued and sent once it does (or fail with ECANCELED if it fails).
// Sockets are written with MSG_NOSIGNAL (no SIGPIPE); pipes are written with writev(2), so a
// process that writes to pipes should ignore SIGPIPE.
//
// shutdown() sends FIN after the queued writes; close() (Handle) drops unsent data, closes the
// descriptor, and fails the pending connect, the queued writes and the pending shutdown with
// ECANCELED. Those callbacks (and write callbacks that had completed but not yet run) run before
// the close callback, in order: they are queued as next ticks. write() and shutdown() on a
// closed stream fail with EBADF (also as next ticks). Destroying a Stream without close() drops
// its pending callbacks unrun.
//
// Active (keeps the loop running) while reading, connecting or writing. Each write, shutdown
// and connect is also a request of the loop until its callback has run, so an unreferenced
// stream still finishes what it was asked to do, as in libuv.
//
// Threads: every method must be called on the loop's thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "herd/base/detail/fifo.h"
#include "herd/base/fd.h"
#include "herd/loop/detail/life_token.h"
#include "herd/loop/io_watcher.h"
#include "herd/net/address.h"

namespace herd {

class Stream : public Handle {
 public:
  using ReadCallback = std::move_only_function<void(Result<std::string_view> chunk)>;
  using DoneCallback = std::move_only_function<void(Status status)>;

  // A stream over an already connected descriptor (from Listener, socketpair or a pipe end).
  Stream(EventLoop& loop, Fd fd);
  // A stream with no descriptor yet: use connect().
  explicit Stream(EventLoop& loop);
  ~Stream();

  // Starts a non-blocking connect; `cb` gets the outcome (ECONNREFUSED, ETIMEDOUT...), from the
  // loop. Errors that are known at once (EINVAL when the stream already has a descriptor or is
  // closing, socket() failing, ENOENT for a missing Unix socket file) are returned, and then `cb`
  // is not called. A refused connection always reaches `cb`, even when the kernel knows at once.
  Status connect(const Address& address, DoneCallback cb);

  // Starts delivering chunks to `cb` (replacing an earlier callback, even from inside it).
  // Allowed while connecting: reading begins once connected.
  void read_start(ReadCallback cb);
  void read_stop();
  bool is_reading() const { return reading_; }

  // Queues `data`; false once the queue holds high-water-mark bytes or more (see above).
  bool write(std::string data, DoneCallback cb = {});
  // Like write(), without the copy: `data` must stay valid and unchanged until `cb` runs (the
  // contract of libuv's uv_write). For large buffers the caller owns anyway.
  bool write_no_copy(std::string_view data, DoneCallback cb);
  // Like write(std::string): the bytes the socket does not take at once are copied.
  bool write(std::string_view data, DoneCallback cb = {});
  bool write(const char* data, DoneCallback cb = {}) {
    return write(std::string_view(data), std::move(cb));
  }
  // Runs once each time the queue empties after write() returned false (after the callbacks of
  // the writes that emptied it). Not after a write error, nor once shutdown() was called.
  void on_drain(Callback cb) { drain_cb_ = std::move(cb); }
  void set_high_water_mark(std::size_t bytes) { high_water_mark_ = bytes; }
  // Bytes queued and not yet taken by the kernel.
  std::size_t write_queue_size() const { return queued_bytes_; }

  // Half-close once the queued writes are sent. `cb` gets the outcome (EPIPE if shutdown was
  // already requested, ENOTCONN without a descriptor).
  void shutdown(DoneCallback cb = {});

  int fd() const { return fd_.get(); }

 protected:
  void on_close_requested() override;

 private:
  struct PendingWrite {
    std::string owned;          // the copy write() made; empty for write_no_copy()
    const char* ptr = nullptr;  // write_no_copy()'s bytes; nullptr: the bytes are `owned`
    std::size_t size = 0;
    std::size_t offset = 0;
    DoneCallback cb;
    // Computed, not stored: the queue moves its elements, and a short `owned` moves with them.
    const char* data() const { return ptr != nullptr ? ptr : owned.data(); }
  };
  // A callback whose outcome is known, waiting for the pending phase (or a next tick on close).
  struct Completion {
    DoneCallback cb;
    Status status;
  };

  void attach(Fd fd);
  // Sends `data` at once when nothing is queued; true when all of it went out. `sent` gets the
  // bytes the kernel took (0 when the queue's path must handle the write).
  bool write_now(std::string_view data, std::size_t* sent);
  bool enqueue(std::string owned, std::string_view external, DoneCallback cb,
               std::size_t already_sent);
  void on_events(std::uint32_t events);
  // Each returns false when a callback destroyed the stream (then `this` is gone).
  bool finish_connect(bool trouble);
  bool handle_readable();
  void flush_writes();
  void do_shutdown();
  void update_interest();
  void fail_writes(const Error& error);
  void complete(DoneCallback cb, Status status);
  void schedule_completions();
  void run_completions();
  void fail_read_later(Error error);
  // A request counted for a write, shutdown or connect, returned when its callback has run.
  void take_request();

  Fd fd_;
  std::optional<IoWatcher> watcher_;  // exists once there is a descriptor; unreferenced
  ReadCallback read_cb_;
  DoneCallback connect_cb_;
  DoneCallback shutdown_cb_;
  Callback drain_cb_;
  detail::Fifo<PendingWrite> writes_;
  detail::Fifo<Completion> completed_;
  std::optional<Error> write_error_;  // the error that failed the writes; later ones fail too
  Address peer_;                      // the address given to connect(), for its errors
  detail::LifeToken life_;            // deferred tasks watch it: the stream may be gone
  detail::DeferOnce completion_run_;  // run_completions(), deferred at most once at a time
  std::size_t queued_bytes_ = 0;
  std::size_t high_water_mark_ = 64 * 1024;
  std::size_t requests_ = 0;  // loop requests owned by this stream's pending callbacks
  // Written with send/sendmsg (MSG_NOSIGNAL) until the first write fails with ENOTSOCK (a
  // pipe), then with write/writev: one failed call per pipe instead of an fstat per socket.
  bool is_socket_ = true;
  bool reading_ = false;
  bool connecting_ = false;
  bool shutdown_requested_ = false;
  bool shutdown_done_ = false;
  bool need_drain_ = false;
};

}  // namespace herd
