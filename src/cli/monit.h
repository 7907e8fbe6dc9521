// `herd monit`: a full-screen terminal view of every instance (status, CPU, memory, restarts,
// uptime) and the selected app's live log, refreshed every second. Keys: up/down or k/j move
// the selection, PgUp/PgDn by a page, Home/End (g/G) to the ends, Ctrl-L redraws, q quits (so do
// Ctrl-C, SIGTERM and a hang-up). No mouse; only what every terminal and SSH session has.
//
// It needs a terminal: when stdin or stdout is not one, or TERM names no usable terminal type,
// it prints why on stderr and returns 1 without touching the screen. The screen is restored on
// every way out.
#pragma once

#include "cli/client.h"

namespace herd::cli {

// Runs the view until the user quits; returns the exit code. `client` is connected to the
// daemon (it is used for the process list; the log stream has a connection of its own).
int run_monit(Client& client);

}  // namespace herd::cli
