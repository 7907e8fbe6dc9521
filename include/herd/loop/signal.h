// Signal: a POSIX signal delivered as a loop event, through signalfd.
//
// Several Signal handles may watch the same signal, on one loop or on several: each of them
// gets every delivery. While any handle watches a signal it is blocked in the thread that
// started the handle (and in every thread libherd creates), so it reaches the signalfd instead
// of its default action. Threads created by the program before the first Signal::start() keep
// their own mask: block the signal there too, or start the handle before creating threads.
// When the last handle for a signal stops, the signal is unblocked again in the calling thread.
//
// Child processes inherit blocked masks across exec: code that spawns children must reset the
// mask in the child (herd's process spawner does).
#pragma once

#include <functional>

#include "herd/base/error.h"
#include "herd/loop/handle.h"

namespace herd {

class Signal : public Handle {
 public:
  using SignalCallback = std::move_only_function<void(int signum)>;

  explicit Signal(EventLoop& loop);
  ~Signal();

  // Watches `signum`. EINVAL for SIGKILL, SIGSTOP or a number out of range. Restarting a
  // started handle switches it to the new signal.
  Status start(int signum, SignalCallback cb);
  void stop();
  int signum() const { return signum_; }

 protected:
  void on_close_requested() override { stop(); }

 private:
  friend struct SignalRegistry;

  int signum_ = 0;
  SignalCallback cb_;
};

}  // namespace herd
