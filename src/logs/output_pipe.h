// OutputPipe: the daemon's end of one app instance's stdout or stderr.
//
// It owns the read end of the pipe, non-blocking, watched on the daemon's loop. On each
// readable event it reads at most `read_budget` bytes (64 KiB by default, one pipe's worth), so
// an app that floods its output gets a fair share of the loop and no more: the rest waits in
// the pipe until the next iteration, and timers, signals and other apps run in between. The
// bytes become lines (LineSplitter: partial lines held, long lines cut, optional timestamp),
// are given the log's shape (LogLineFormat: log_date_format, log_type json) and go, as one batch
// per read, to every sink file (one write(2) per sink per read, see RotatingFile), then line by
// line to the live subscribers (`herd logs`).
//
// Backpressure is the kernel's: if the daemon reads slower than an app writes, the pipe fills
// and the app's own write() blocks (or gets EAGAIN). That stalls that app only, never the
// daemon or another app, which is what a supervisor should do; output is never buffered
// without bound in the daemon. Nothing here blocks: the pipe is non-blocking, sink writes go to
// local files, and subscribers must not block (below).
//
// End of stream (every copy of the write end closed: the app and any child that inherited it
// exited) or a read error: the partial line is handed out as a last line, the watcher closes,
// and in the loop's close phase the descriptor is closed and the close callback runs with the
// outcome (success for EOF, the Error for a read error). The pipe may be destroyed inside that
// callback.
//
// Lifetime: destroy the pipe outside its callbacks (except the close callback, see above), or
// close() it first. The sinks are shared with whoever else writes to the same files.
//
// Threads: every method must be called on the loop's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "logs/line_splitter.h"
#include "logs/log_line_format.h"
#include "logs/rotating_file.h"

namespace herd::manager {

class OutputPipe {
 public:
  struct Options {
    bool timestamps = false;        // the app's `time` / --time
    LogLineFormat::Options format;  // log_date_format / log_type: json (then no `timestamps`)
    std::size_t max_line = LineSplitter::kDefaultMaxLine;  // longer lines are cut
    std::size_t read_budget = 64 * 1024;                   // bytes read per readable event
  };
  using SubscriberId = std::uint64_t;  // 0 is never a valid id
  // A live subscriber: gets each line as written to the files (timestamp included when
  // enabled), without '\n'; the view is valid only during the call. It runs inside the pipe's
  // read callback, so it must not block (queue the line, or drop it when its own buffer is
  // full) and must not destroy or close() the pipe. It may subscribe and unsubscribe.
  using LineCallback = std::function<void(std::string_view line)>;
  using CloseCallback = std::move_only_function<void(Status status)>;

  // Takes the pipe's read end. `sinks` are the files every line goes to, in order (out or
  // error log, then the combined log), and may be empty (subscribers only); null entries are
  // skipped. Nothing happens until start().
  OutputPipe(EventLoop& loop, Fd read_end, std::vector<std::shared_ptr<RotatingFile>> sinks,
             Options options);
  OutputPipe(EventLoop& loop, Fd read_end, std::vector<std::shared_ptr<RotatingFile>> sinks)
      : OutputPipe(loop, std::move(read_end), std::move(sinks), Options()) {}
  // Hands the held partial line to the sinks (not to subscribers) unless close() did.
  ~OutputPipe();
  OutputPipe(const OutputPipe&) = delete;
  OutputPipe& operator=(const OutputPipe&) = delete;

  // Called once at end of stream or on a read error (see above). Not called after close().
  void set_close_callback(CloseCallback cb) { on_close_ = std::move(cb); }

  // Makes the descriptor non-blocking and starts reading. Fails with EBADF without a
  // descriptor, EINVAL if started before or closed, or what fcntl/epoll report.
  Status start();

  // Stops reading for good, now: hands out the partial line (sinks and subscribers), closes the
  // descriptor. The close callback does not run. For an owner that gives up on a stream whose
  // write end is held open elsewhere (a daemonized grandchild, say). Idempotent.
  void close();

  SubscriberId subscribe(LineCallback cb);
  // False if `id` is not subscribed (any more).
  bool unsubscribe(SubscriberId id);
  std::size_t subscribers() const;

  bool is_reading() const { return state_ == State::kReading; }
  // The pipe's read end (-1 once closed): `herd update` keeps it open across exec.
  int fd() const { return fd_.get(); }
  bool is_closed() const { return state_ == State::kClosed; }
  // Bytes read from the pipe, and lines handed out, since construction.
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t lines() const { return lines_; }

 private:
  enum class State { kIdle, kReading, kClosing, kClosed };

  void on_readable();
  void on_line(std::string_view line);
  void write_batch();
  void flush_partial(bool to_subscribers);
  void compact_subscribers();

  EventLoop& loop_;
  Fd fd_;
  IoWatcher watcher_;
  std::vector<std::shared_ptr<RotatingFile>> sinks_;
  Options options_;
  LineSplitter splitter_;
  LogLineFormat format_;
  bool final_line_ = false;  // the line being handed out ends the stream without its '\n'
  State state_ = State::kIdle;
  CloseCallback on_close_;

  std::string batch_;  // the lines of one read, with '\n', written to each sink at once
  bool deliver_to_subscribers_ = true;

  // Subscribers in subscription order. During delivery, unsubscribe() only zeroes an id and
  // subscribe() goes to added_; both are applied once delivery is over.
  std::vector<std::pair<SubscriberId, LineCallback>> subscribers_;
  std::vector<std::pair<SubscriberId, LineCallback>> added_;
  SubscriberId next_id_ = 1;
  int delivering_ = 0;
  bool needs_compact_ = false;

  std::uint64_t bytes_read_ = 0;
  std::uint64_t lines_ = 0;
};

}  // namespace herd::manager
