// InstanceHost: what an Instance needs from whoever owns it (the Supervisor), and nothing more.
//
// An Instance runs one process of an app; it does not know the Supervisor, the other apps or the
// control protocol. It asks its host for the loop, the paths of the home, the shared log files,
// and it tells the host which pid is whose and each line its process writes. A test can host
// Instances with a small fake.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/hook_event.h"

namespace herd {
class EventLoop;
}

namespace herd::manager {

class CgroupTree;
class Instance;
class RotatingFile;
struct AppSpec;
struct Home;

class InstanceHost {
 public:
  virtual EventLoop& loop() = 0;
  virtual const Home& home() const = 0;
  // The path of the daemon's sd_notify socket (NOTIFY_SOCKET of every instance).
  virtual const std::string& notify_path() const = 0;
  // The log file at `path`, shared by every instance that writes to it (rotation as `spec` says).
  virtual std::shared_ptr<RotatingFile> log_file(const std::string& path, const AppSpec& spec) = 0;
  // One line the instance's process wrote on `stream` ("out" or "err"), for live log readers.
  virtual void on_log_line(const Instance& inst, const char* stream, std::string_view line) = 0;
  // `pid` is `inst`'s process from now on (its exit is reported to `inst`) / no more.
  virtual void register_pid(pid_t pid, Instance* inst) = 0;
  virtual void forget_pid(pid_t pid) = 0;
  // A helper process that is not an instance (a health check's command): `on_exit` gets its
  // wait(2) status once it is reaped, unless unwatch_child() came first.
  virtual void watch_child(pid_t pid, std::function<void(int wstatus)> on_exit) = 0;
  virtual void unwatch_child(pid_t pid) = 0;
  // herd's cgroups (cgroup/cgroup_tree.h); nullptr for a host without them.
  virtual CgroupTree* cgroups() { return nullptr; }
  // Runs the app's hook for `event` (hooks.h); Instance::fire_hook calls it only when the app
  // has one. A host without hooks ignores it.
  virtual void run_hook(const Instance& inst, HookEvent event, const HookDetails& details) {
    (void)inst;
    (void)event;
    (void)details;
  }

 protected:
  ~InstanceHost() = default;
};

}  // namespace herd::manager
