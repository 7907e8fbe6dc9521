// Stream: a non-blocking, connected byte stream (TCP or Unix socket, pipe) on the loop.
//
// Reading: read_start(cb) delivers each chunk as it arrives; an empty chunk means end of stream
// (the peer shut down its sending side); an Error means the stream failed and reading stopped.
//
// Writing: write() copies the data into a write queue and sends as much as the socket takes, at
// once if the queue was empty. It returns false once the queued bytes reach the high-water mark
// (default 64 KiB): the caller should stop producing until the drain callback runs. Each write's
// callback runs after all of its bytes went to the kernel, or with the error that failed it;
// callbacks never run from inside write() itself (they are deferred to the loop), so a callback
// can always write again.
//
// shutdown() sends FIN after the queued writes; close() (Handle) drops unsent data, fails queued
// write callbacks with ECANCELED, and closes the descriptor.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "herd/address.h"
#include "herd/fd.h"
#include "herd/io_watcher.h"

namespace herd {

class Stream : public Handle {
 public:
  using ReadCallback = std::move_only_function<void(Result<std::string_view> chunk)>;
  using DoneCallback = std::move_only_function<void(Status status)>;

  // A stream over an already connected descriptor (from Listener or socketpair).
  Stream(EventLoop& loop, Fd fd);
  // A stream with no descriptor yet: use connect().
  explicit Stream(EventLoop& loop);
  ~Stream();

  // Starts a non-blocking connect; `cb` gets the outcome (ECONNREFUSED...). Errors that are
  // known at once are returned, and then `cb` is not called.
  Status connect(const Address& address, DoneCallback cb);

  void read_start(ReadCallback cb);
  void read_stop();

  bool write(std::string data, DoneCallback cb = {});
  bool write(std::string_view data, DoneCallback cb = {}) { return write(std::string(data), std::move(cb)); }
  // Runs once each time the queue empties after write() returned false.
  void on_drain(Callback cb) { drain_cb_ = std::move(cb); }
  void set_high_water_mark(std::size_t bytes) { high_water_mark_ = bytes; }
  std::size_t write_queue_size() const { return queued_bytes_; }

  // Half-close once the queued writes are sent. `cb` gets the outcome.
  void shutdown(DoneCallback cb = {});

  int fd() const { return fd_.get(); }

 protected:
  void on_close_requested() override;

 private:
  struct PendingWrite {
    std::string data;
    std::size_t offset = 0;
    DoneCallback cb;
  };

  void on_events(std::uint32_t events);
  void handle_readable();
  void flush_writes();
  void update_interest();
  void fail_writes(const Error& error);

  Fd fd_;
  IoWatcher watcher_;
  ReadCallback read_cb_;
  DoneCallback connect_cb_;
  DoneCallback shutdown_cb_;
  Callback drain_cb_;
  std::deque<PendingWrite> writes_;
  std::size_t queued_bytes_ = 0;
  std::size_t high_water_mark_ = 64 * 1024;
  bool reading_ = false;
  bool connecting_ = false;
  bool shutdown_requested_ = false;
  bool need_drain_ = false;
};

}  // namespace herd
