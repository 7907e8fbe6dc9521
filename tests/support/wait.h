// Waiting in tests: always for an event, always with a deadline, never sleep-and-hope.
#pragma once

#include <chrono>
#include <functional>

#include "herd/loop/event_loop.h"

namespace herd::test {

// Runs `loop` one iteration at a time until `done()` is true or `timeout` passes. A guard timer
// (unreferenced) wakes the loop so the deadline holds even when nothing else happens.
// Returns done()'s final value.
bool run_until(EventLoop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Polls `done()` (without a loop) every millisecond until it is true or `timeout` passes.
bool wait_for(const std::function<bool()>& done,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace herd::test
