// `herd runtime`: the daemon in the foreground of this very process, for a container's PID 1 or
// a systemd Type=notify unit (PM2's pm2-runtime).
//
//   - no keeper, no fork: this process is the daemon and the apps' parent; the control socket
//     still serves, so `herd ls` from `docker exec` works against it;
//   - it reaps every process reparented to it (it is a child subreaper, and PID 1 in a PID
//     namespace);
//   - every app's output goes to this process's stdout/stderr, not to files: "<id>|<app> | line"
//     as `herd logs` prints it, or with `json_logs` one JSON object per line
//     ({"time","app","id","stream","message"}) on stdout;
//   - SIGTERM, SIGINT or SIGHUP stop every app gracefully (kill_timeout each), then it exits 0; a
//     second one kills what is left (SIGKILL to each instance's process group) and exits
//     128 + the signal;
//   - READY=1 goes to its own NOTIFY_SOCKET once every app is online;
//   - with `auto_exit`, it exits once no app is online, launching, stopping or waiting for its
//     restart any more (stopped, errored, or waiting for a dependency that failed): with the
//     exit code of the first instance (by id) that ended with one (128 + signal), else 0;
//   - an app that cannot be started (a program that does not exist, a bad setting) stops
//     everything and it exits 1: a container fails fast rather than run half its apps.
//
// Threads: call run_runtime from the main thread, before any other thread exists.
#pragma once

#include <vector>

#include "app/app_spec.h"
#include "daemon/daemon.h"
#include "daemon/home.h"

namespace herd::manager {

struct RuntimeOptions {
  bool json_logs = false;
  bool auto_exit = true;
  // The metrics, /healthz and /readyz listener (daemon.h: metrics_port, metrics_addr).
  DaemonOptions daemon;
};

// Runs `apps` under a daemon in this process until they are gone or a signal says stop; returns
// the process's exit code (see above). Errors before anything starts (the home is locked by
// another daemon, a bad metrics address) are printed and give 1.
int run_runtime(const Home& home, const RuntimeOptions& options, std::vector<AppSpec> apps);

}  // namespace herd::manager
