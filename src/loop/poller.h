// Poller: the I/O backend EventLoop is built with. It is chosen at compile time, not behind a
// virtual interface, so that dispatching a ready descriptor costs no indirect call. A backend
// provides what PollerBackend lists; EpollPoller (epoll_poller.h) documents each operation.
#pragma once

#include <concepts>
#include <cstdint>

#include "herd/base/error.h"
#include "herd/loop/io_watcher.h"
#include "loop/epoll_poller.h"

namespace herd::detail {

template <class P>
concept PollerBackend = requires(P& p, IoWatcher* w, std::uint32_t events) {
  { p.add(w, events) } -> std::same_as<Status>;
  p.modify_later(w);
  p.forget(w);
  {
    p.wait(0, [](IoWatcher*, std::uint32_t) {})
    } -> std::same_as<bool>;
  p.wake();
};

using Poller = EpollPoller;
static_assert(PollerBackend<Poller>);

}  // namespace herd::detail
