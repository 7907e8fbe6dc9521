// Hooks: the commands an app runs on events (AppSpec::hooks, docs/watchdog-and-hooks.md).
//
// Firing: Instance::fire_hook(HookEvent, HookDetails) is the one way in (instance.h). It does
// nothing when the app has no hook for the event; otherwise the Supervisor hands a HookRequest
// made by make_hook_request() to its HookRunner.
//
// A hook runs as `/bin/sh -c COMMAND` in the app's cwd, in a process group of its own, with the
// instance's environment plus HERD_EVENT, HERD_APP, HERD_ID, HERD_PID, HERD_EXIT_CODE /
// HERD_SIGNAL (when there is one) and HERD_REASON. Its stdout and stderr go to herd.log line by
// line ("hook crash of api (id 0): <line>"), each line cut at kMaxHookLine bytes and the whole
// run's output at kMaxHookOutput bytes (the rest is read and dropped, and that is said once).
// Its exit is logged when it fails (code or signal). A hook still running after the app's
// hook_timeout is killed (SIGKILL to its group) with a line saying so; when it exits, whatever
// it left in its group is killed too.
//
// Bounds, so that a crash loop cannot fork-bomb the machine: one run at a time per app and
// event; an event that comes while its hook runs is coalesced: the latest one is kept and run
// when the current run ends, with HERD_COALESCED = how many events it stands for. At most
// kMaxRunningHooks run at once in the daemon; beyond that an event is dropped, and logged.
//
// Nothing here blocks the loop: fork/exec (spawn.h), non-blocking pipe reads, a timer per run;
// the exit status comes from the Supervisor's reaper (InstanceHost::watch_child).
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/hook_event.h"
#include "herd/loop/event_loop.h"

namespace herd::manager {

class InstanceHost;

class Instance;

inline constexpr std::size_t kMaxRunningHooks = 32;
inline constexpr std::size_t kMaxHookLine = 1024;
inline constexpr std::size_t kMaxHookOutput = 64 * 1024;

struct HookRequest {
  std::string app;
  int id = 0;
  HookEvent event = HookEvent::kCrash;
  std::string command;
  std::string cwd;
  std::vector<std::string> env;  // "KEY=value", HERD_EVENT and the rest included
  std::uint64_t timeout_ms = 30000;
};

// The request for `inst`'s hook of `event`; nullopt-like empty command when the app has none.
HookRequest make_hook_request(const Instance& inst, HookEvent event, const HookDetails& details);

class HookRunner {
 public:
  // Hook processes are reaped by `host`'s reaper (InstanceHost::watch_child).
  HookRunner(EventLoop& loop, InstanceHost& host);
  // Kills every hook still running (SIGKILL to its group).
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // Runs the hook, or coalesces or drops it (see above). A spawn failure is logged.
  void run(HookRequest request);
  std::size_t running() const { return running_.size(); }

 private:
  struct Run;
  struct Pending {
    HookRequest request;
    int events = 0;  // how many events the pending run stands for
  };

  void start(HookRequest request, int coalesced);
  // From the reaper: the hook `pid` ended with `wstatus`.
  void on_exit(pid_t pid, int wstatus);
  void on_output(Run& run);
  void finish(Run& run, int wstatus);
  static std::string key(const HookRequest& r);

  EventLoop& loop_;
  InstanceHost& host_;
  std::list<std::unique_ptr<Run>> running_;
  std::map<std::string, Pending> pending_;  // by key(): the next run of a busy app/event
};

}  // namespace herd::manager
