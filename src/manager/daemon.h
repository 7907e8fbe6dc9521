// The herd daemon: one per HERD_HOME. Started by the first CLI verb that needs it (as PM2's
// is), it supervises the apps and answers the control socket until `herd kill` or SIGTERM.
#pragma once

#include "manager/home.h"

namespace herd::manager {

// Runs the daemon in this process until it is told to quit. `foreground` keeps stdout/stderr
// (for tests and systemd); otherwise they go to herd.log. Returns the process's exit code.
int run_daemon(const Home& home, bool foreground);

}  // namespace herd::manager
