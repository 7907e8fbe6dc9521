#include "herd/loop/signal.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "herd/base/fd.h"
#include "herd/base/log.h"
#include "herd/loop/io_watcher.h"

namespace herd {

// Every Signal handle of the process, by signal number, and each loop's signalfd.
//
// A process-directed signal sits pending once, and whichever signalfd reads it first consumes
// it. So the loop that reads a signal delivers it to its own handles and posts it to every other
// loop that has handles for it: each handle on each loop sees every delivery, as with libuv.
struct SignalRegistry {
  struct LoopState {
    Fd fd;
    std::unique_ptr<IoWatcher> watcher;
    sigset_t mask;
  };

  std::mutex mutex;
  std::vector<Signal*> handles[_NSIG];
  std::map<EventLoop*, LoopState> loops;

  static SignalRegistry& get() {
    // Never destroyed: handles may still stop during static destruction.
    static SignalRegistry* registry = new SignalRegistry;
    return *registry;
  }

  bool watched_anywhere(int signum) const { return !handles[signum].empty(); }

  bool watched_on(EventLoop* loop, int signum) const {
    return std::any_of(handles[signum].begin(), handles[signum].end(),
                       [loop](Signal* s) { return &s->loop() == loop; });
  }

  // Called with the mutex held.
  Status add(Signal* s, int signum) {
    EventLoop* loop = &s->loop();
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signum);
    // Blocked here so the signal queues for signalfd instead of running its default action.
    pthread_sigmask(SIG_BLOCK, &one, nullptr);

    auto it = loops.find(loop);
    if (it == loops.end()) {
      LoopState state;
      sigemptyset(&state.mask);
      sigaddset(&state.mask, signum);
      auto fd = Fd::signalfd(state.mask);
      if (!fd) return std::unexpected(fd.error());
      state.fd = std::move(*fd);
      state.watcher = std::make_unique<IoWatcher>(*loop, state.fd.get());
      state.watcher->unref();  // the Signal handles keep the loop alive, not this watcher
      int raw_fd = state.fd.get();
      state.watcher->set_callback([loop, raw_fd](std::uint32_t) { on_readable(loop, raw_fd); });
      if (Status st = state.watcher->start(kReadable); !st) return st;
      loops.emplace(loop, std::move(state));
    } else if (!sigismember(&it->second.mask, signum)) {
      sigaddset(&it->second.mask, signum);
      if (::signalfd(it->second.fd.get(), &it->second.mask, SFD_NONBLOCK | SFD_CLOEXEC) < 0) {
        return fail_errno("signalfd update");
      }
    }
    handles[signum].push_back(s);
    return {};
  }

  // Called with the mutex held.
  void remove(Signal* s, int signum) {
    auto& v = handles[signum];
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    EventLoop* loop = &s->loop();
    auto it = loops.find(loop);
    if (it != loops.end() && !watched_on(loop, signum)) {
      sigdelset(&it->second.mask, signum);
      if (sigisemptyset(&it->second.mask)) {
        // We may be inside this watcher's own callback (a signal callback stopping the last
        // handle): stop it now, free it and close the signalfd once the callback is over.
        it->second.watcher->stop();
        loop->defer([state = std::move(it->second)]() mutable {});
        loops.erase(it);
      } else {
        ::signalfd(it->second.fd.get(), &it->second.mask, SFD_NONBLOCK | SFD_CLOEXEC);
      }
    }
    if (!watched_anywhere(signum)) {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, signum);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    }
  }

  static void on_readable(EventLoop* loop, int fd) {
    signalfd_siginfo info[16];
    for (;;) {
      ssize_t n = ::read(fd, info, sizeof(info));
      if (n <= 0) break;  // EAGAIN: drained
      std::size_t count = static_cast<std::size_t>(n) / sizeof(signalfd_siginfo);
      for (std::size_t i = 0; i < count; ++i) broadcast(loop, static_cast<int>(info[i].ssi_signo));
    }
  }

  static void broadcast(EventLoop* reader, int signum) {
    SignalRegistry& r = get();
    {
      std::lock_guard<std::mutex> lock(r.mutex);
      std::vector<EventLoop*> others;
      for (Signal* s : r.handles[signum]) {
        EventLoop* l = &s->loop();
        if (l != reader && std::find(others.begin(), others.end(), l) == others.end()) {
          others.push_back(l);
        }
      }
      // Posted under the lock: a loop with a registered handle is still alive here.
      for (EventLoop* l : others) l->post([l, signum] { deliver_local(l, signum); });
    }
    deliver_local(reader, signum);
  }

  // Runs every handle of `loop` that watches `signum`. A callback may stop or destroy other
  // handles, so each one is looked up again right before it runs.
  static void deliver_local(EventLoop* loop, int signum) {
    SignalRegistry& r = get();
    std::vector<Signal*> targets;
    {
      std::lock_guard<std::mutex> lock(r.mutex);
      for (Signal* s : r.handles[signum]) {
        if (&s->loop() == loop) targets.push_back(s);
      }
    }
    for (Signal* s : targets) {
      {
        std::lock_guard<std::mutex> lock(r.mutex);
        auto& v = r.handles[signum];
        if (std::find(v.begin(), v.end(), s) == v.end()) continue;
      }
      loop->dispatch(s, s->cb_, "signal", signum);
    }
  }
};

Signal::Signal(EventLoop& loop) : Handle(loop) {}

Signal::~Signal() { stop(); }

Status Signal::start(int signum, SignalCallback cb) {
  loop().check_thread("Signal::start called off the loop thread");
  if (signum <= 0 || signum >= _NSIG || signum == SIGKILL || signum == SIGSTOP) {
    return fail(EINVAL, fmt::format("Signal::start: signal {} cannot be watched", signum));
  }
  stop();
  SignalRegistry& r = SignalRegistry::get();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (Status s = r.add(this, signum); !s) return s;
  signum_ = signum;
  cb_ = std::move(cb);
  activate();
  return {};
}

void Signal::stop() {
  if (signum_ == 0) return;
  SignalRegistry& r = SignalRegistry::get();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    r.remove(this, signum_);
  }
  signum_ = 0;
  deactivate();
}

}  // namespace herd
