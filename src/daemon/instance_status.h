// InstanceStatus: where an Instance is in its life, and the changes between them that may happen.
//
//   stopped ─start─> launching ──ready──> online
//      ▲                │  │                 │
//      │                │  └──stop──> stopping ──exit──> stopped
//      │                └─exit─┬──> waiting restart ──timer──> launching
//      │                       ├──> errored (too many unstable restarts, a spawn that failed)
//      └─────────stop──────────┴──> stopped (autorestart off, a stop exit code)
//
// Instance changes its status only through one checked function (Instance::set_status), which
// asks transition_allowed and logs every change at debug level; a change the table does not
// allow is a bug: it is logged as an error, and the sanitizer build (HERD_DEBUG_CHECKS) stops.
//
// Pure functions; any thread.
#pragma once

namespace herd::manager {

enum class InstanceStatus { kLaunching, kOnline, kStopping, kStopped, kErrored, kWaitingRestart };

// PM2's words: "launching", "online", "stopping", "stopped", "errored", "waiting restart".
const char* status_name(InstanceStatus s);

// Whether an instance may go from `from` to `to`:
//   stopped, errored, waiting restart -> launching (a start), errored (a start that failed)
//   launching -> online (ready), stopping (stop), and what an exit leads to
//   online -> stopping (stop), and what an exit leads to
//   an exit (launching, online, stopping) -> stopped, errored, waiting restart
//   stopping -> stopped, errored (a reload's replacement stopped before it was ready)
//   errored, waiting restart -> stopped (stop with no process)
bool transition_allowed(InstanceStatus from, InstanceStatus to);

}  // namespace herd::manager
