// The daemon's descriptor limit, and the one its apps get.
//
// A daemon holds a few descriptors per instance (output pipes, the sampler's kept files, a
// bind channel): under the soft RLIMIT_NOFILE most systems start processes with (1,024, for
// select()'s sake) it could not run 1,000 instances. raise_descriptor_limit() lifts the soft limit
// to the hard one (at most kMaxDescriptors) when a daemon or a runtime starts; spawn() gives each
// app back the soft limit herd itself was started with (apply_app_descriptor_limit(), in the
// child), so a program sees the limit it would have had without herd, as systemd does for its
// services. The limit to give back survives `herd update`'s re-exec in the daemon's environment
// (HERD_APP_NOFILE), where the raised one would otherwise be taken for the original.
//
// Threads: raise_descriptor_limit() once, at start, before any thread; the other is
// async-signal-safe (a forked child calls it).
#pragma once

#include <sys/resource.h>

namespace herd::manager {

inline constexpr rlim_t kMaxDescriptors = rlim_t{1} << 20;

// Raises the soft limit to the hard one (capped). Returns the soft limit apps will get.
rlim_t raise_descriptor_limit();

// In a spawned child before exec: the soft limit back to what herd was started with (a no-op
// when raise_descriptor_limit() did not run or changed nothing).
void apply_app_descriptor_limit();

}  // namespace herd::manager
