// The herd daemon: one per HERD_HOME. Started by the first CLI verb that needs it (as PM2's
// is), it supervises the apps and answers the control socket until `herd kill` or SIGTERM.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "daemon/home.h"
#include "herd/base/error.h"
#include "herd/loop/event_loop.h"

namespace herd::manager {

struct DaemonOptions {
  // Keep stdout/stderr (for tests and systemd); otherwise they go to herd.log.
  bool foreground = false;
  // Serve GET /metrics (Prometheus), /healthz and /readyz (probes) on <metrics_addr>:<port> (0:
  // a free port, shown by `herd ping`). nullopt: the HERD_METRICS_PORT environment variable
  // decides; without it there is no listener. A port that cannot be bound is logged and reported
  // by `ping`; the daemon runs on.
  std::optional<std::uint16_t> metrics_port;
  // The listener's address, as parse_metrics_addr returns it; nullopt: HERD_METRICS_ADDR, else
  // 127.0.0.1. An address without a port makes run_daemon fail before it starts anything.
  std::optional<std::string> metrics_addr;
  // `herd update` (takeover.h): the descriptor of the state the previous daemon left, in a
  // process that replaced it by exec; -1 for a daemon that starts afresh.
  int takeover_fd = -1;
};

// Runs the daemon in this process until it is told to quit. Returns the process's exit code
// (1 when it cannot start: another daemon holds the home, a bad HERD_METRICS_PORT or
// HERD_METRICS_ADDR, ...).
int run_daemon(const Home& home, const DaemonOptions& options);

// The daemon that run_daemon runs, without run_daemon's process setup (no lock, pid file,
// herd.log, closing of inherited descriptors; SIGPIPE is the caller's): it answers on
// home.socket() while the caller runs `loop`, until the returned object is destroyed (after a
// `kill` request has been answered, or with no app running); `loop` and `home` must outlive it.
// For the control-protocol fuzzer (fuzz/control_fuzz.cc), which drives the real dispatch
// through the socket.
Result<std::shared_ptr<void>> start_daemon_on(EventLoop& loop, const Home& home);

}  // namespace herd::manager
