// IoWatcher: readiness of one file descriptor, through the loop's epoll (level-triggered).
//
// The watcher does not own the descriptor. Stop it (or destroy or close it) before closing the
// descriptor. Only one watcher per descriptor per loop.
#pragma once

#include <cstdint>
#include <functional>

#include "herd/base/error.h"
#include "herd/loop/handle.h"

namespace herd {

namespace detail {
class EpollPoller;
}  // namespace detail

// Event bits, for start() and the callback.
inline constexpr std::uint32_t kReadable = 1u << 0;
inline constexpr std::uint32_t kWritable = 1u << 1;
// Only reported, never requested: the peer hung up, or the descriptor has an error pending.
inline constexpr std::uint32_t kHangup = 1u << 2;
inline constexpr std::uint32_t kIoError = 1u << 3;

class IoWatcher : public Handle {
 public:
  using IoCallback = std::move_only_function<void(std::uint32_t events)>;

  IoWatcher(EventLoop& loop, int fd);
  ~IoWatcher();

  void set_callback(IoCallback cb) { cb_ = std::move(cb); }
  // Watches for `events` (kReadable | kWritable), replacing the earlier interest. Fails when
  // epoll refuses the descriptor (EPERM for a regular file, EBADF for a closed one).
  // start(0) is stop().
  Status start(std::uint32_t events);
  void stop();

  int fd() const { return fd_; }
  std::uint32_t events() const { return events_; }

  // EPOLLEXCLUSIVE: when several epoll instances (several processes) watch the same descriptor
  // exclusively, an event wakes one of them (or a few) instead of all: the thundering herd of a
  // listening socket shared by many processes. Takes effect at the next start() from stopped
  // (the kernel accepts the flag only when a descriptor is added). An exclusive watcher must
  // keep one interest while started: only kReadable or only kWritable.
  void set_exclusive(bool on) { exclusive_ = on; }
  bool exclusive() const { return exclusive_; }

 protected:
  void on_close_requested() override { stop(); }

 private:
  friend class EventLoop;
  friend class detail::EpollPoller;  // reads the interest, keeps the registration fields

  int fd_;
  std::uint32_t events_ = 0;      // the interest asked for
  std::uint32_t registered_ = 0;  // the interest epoll has (0: not added)
  bool change_pending_ = false;   // in the loop's list of changes to apply before polling
  bool exclusive_ = false;        // added with EPOLLEXCLUSIVE
  IoCallback cb_;
};

}  // namespace herd
