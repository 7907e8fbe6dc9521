#include "daemon/hooks.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/app.h"
#include "daemon/instance.h"
#include "daemon/instance_host.h"
#include "daemon/spawn.h"
#include "herd/base/fd.h"
#include "herd/base/log.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/timer.h"

namespace herd::manager {

HookRequest make_hook_request(const Instance& inst, HookEvent event, const HookDetails& details) {
  HookRequest r;
  const AppSpec& spec = inst.app().spec;
  r.app = inst.app().name;
  r.id = inst.id();
  r.event = event;
  if (auto it = spec.hooks.find(std::string(hook_event_name(event))); it != spec.hooks.end()) {
    r.command = it->second;
  }
  r.cwd = spec.cwd;
  r.timeout_ms = spec.hook_timeout_ms;
  // The instance's environment (the app's, as it was started), without what only its own
  // process may use: a hook is not the instance, and must not ping its watchdog or take its
  // sockets.
  for (const std::string& kv : inst.env()) {
    if (kv.starts_with("NOTIFY_SOCKET=") || kv.starts_with("WATCHDOG_") ||
        kv.starts_with("LISTEN_") || kv.starts_with("HERD_BIND_")) {
      continue;
    }
    r.env.push_back(kv);
  }
  if (inst.env().empty()) {
    // Never started (a spawn that failed before its environment was built): the app's own.
    for (const auto& [k, v] : spec.env) r.env.push_back(k + "=" + v);
  }
  pid_t pid = details.pid > 0 ? details.pid : inst.pid();
  std::map<std::string, std::string> herd = {
      {"HERD_EVENT", std::string(hook_event_name(event))},
      {"HERD_APP", r.app},
      {"HERD_ID", std::to_string(r.id)},
      {"HERD_PID", std::to_string(pid)},
      {"HERD_REASON", details.reason},
  };
  if (details.exit_code) herd["HERD_EXIT_CODE"] = std::to_string(*details.exit_code);
  if (details.signal != 0) herd["HERD_SIGNAL"] = signal_name(details.signal);
  std::erase_if(r.env, [&](const std::string& kv) {
    return herd.contains(kv.substr(0, kv.find('='))) || kv.starts_with("HERD_EXIT_CODE=") ||
           kv.starts_with("HERD_SIGNAL=") || kv.starts_with("HERD_COALESCED=");
  });
  for (const auto& [k, v] : herd) r.env.push_back(k + "=" + v);
  return r;
}

struct HookRunner::Run {
  Run(EventLoop& loop, HookRequest r, pid_t p, Fd out)
      : request(std::move(r)),
        pid(p),
        output(std::move(out)),
        watcher(loop, output.get()),
        timer(loop) {}

  HookRequest request;
  pid_t pid;
  Fd output;  // the read end of the hook's stdout and stderr
  IoWatcher watcher;
  Timer timer;
  std::string line;        // the line being read
  std::size_t logged = 0;  // bytes of output logged so far
  bool dropping = false;   // kMaxHookOutput reached: the rest is read and dropped
  bool timed_out = false;
  std::string who;  // "hook crash of api (id 0)"
};

HookRunner::HookRunner(EventLoop& loop, InstanceHost& host) : loop_(loop), host_(host) {}

HookRunner::~HookRunner() {
  for (auto& r : running_) {
    host_.unwatch_child(r->pid);
    ::kill(-r->pid, SIGKILL);
  }
}

std::string HookRunner::key(const HookRequest& r) {
  return fmt::format("{}\n{}", r.app, hook_event_name(r.event));
}

void HookRunner::run(HookRequest request) {
  if (request.command.empty()) return;
  std::string k = key(request);
  bool busy = std::any_of(running_.begin(), running_.end(),
                          [&](const auto& r) { return key(r->request) == k; });
  if (busy) {
    Pending& p = pending_[k];
    ++p.events;
    if (p.events == 1) {
      log_info("hook {} of {} (id {}): the previous run is still going; this event runs after it",
               hook_event_name(request.event), request.app, request.id);
    }
    p.request = std::move(request);
    return;
  }
  if (running_.size() >= kMaxRunningHooks) {
    log_warn("hook {} of {} (id {}) not run: {} hooks are running already (the most at once)",
             hook_event_name(request.event), request.app, request.id, kMaxRunningHooks);
    return;
  }
  start(std::move(request), 1);
}

void HookRunner::start(HookRequest request, int coalesced) {
  std::string who =
      fmt::format("hook {} of {} (id {})", hook_event_name(request.event), request.app, request.id);
  auto out = Fd::pipe();
  // Only the daemon's end is non-blocking: the hook's writes block as a shell's usually do.
  if (out) {
    if (Status s = set_nonblocking(out->first.get(), true); !s) out = std::unexpected(s.error());
  }
  if (!out) {
    log_error("{}: not run: {}", who, out.error().message());
    return;
  }
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", request.command};
  o.cwd = request.cwd;
  o.env = request.env;
  o.env.push_back(fmt::format("HERD_COALESCED={}", coalesced));
  o.stdout_fd = out->second.get();
  o.stderr_fd = out->second.get();
  auto pid = spawn(o);
  out->second.reset();  // the hook has its copy: EOF once it (and its children) are done
  if (!pid) {
    log_error("{}: not run: {}", who, pid.error().message());
    return;
  }
  log_info("{} started (pid {}): {}", who, *pid, request.command);
  auto run = std::make_unique<Run>(loop_, std::move(request), *pid, std::move(out->first));
  Run& r = *run;
  r.who = std::move(who);
  r.watcher.unref();
  r.timer.unref();
  r.watcher.set_callback([this, &r](std::uint32_t) { on_output(r); });
  if (Status s = r.watcher.start(kReadable); !s) {
    log_warn("{}: its output is not read: {}", r.who, s.error().message());
  }
  r.timer.start(
      [&r] {
        r.timed_out = true;
        log_warn("{} (pid {}) still runs after hook_timeout ({} ms): killed", r.who, r.pid,
                 r.request.timeout_ms);
        ::kill(-r.pid, SIGKILL);
      },
      r.request.timeout_ms);
  host_.watch_child(r.pid, [this, pid = r.pid](int wstatus) { on_exit(pid, wstatus); });
  running_.push_back(std::move(run));
}

// Reads what is there (bounded per wake-up), logs whole lines, stops at EOF.
void HookRunner::on_output(Run& r) {
  for (int i = 0; i < 16; ++i) {
    char buf[4096];
    ssize_t n = ::read(r.output.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      // EOF (or an error): nothing more will come. Keep the partial line for finish().
      r.watcher.stop();
      return;
    }
    for (ssize_t k = 0; k < n; ++k) {
      char c = buf[k];
      if (c != '\n') {
        if (r.line.size() < kMaxHookLine) r.line.push_back(c);
        continue;
      }
      std::size_t size = r.line.size() + 1;
      if (!r.dropping && r.logged + size > kMaxHookOutput) {
        r.dropping = true;
        log_warn("{}: more than {} bytes of output; the rest is dropped", r.who, kMaxHookOutput);
      }
      if (!r.dropping) {
        log_info("{}: {}", r.who, r.line);
        r.logged += size;
      }
      r.line.clear();
    }
  }
}

void HookRunner::on_exit(pid_t pid, int wstatus) {
  auto it = std::find_if(running_.begin(), running_.end(),
                         [pid](const auto& r) { return r->pid == pid; });
  if (it == running_.end()) return;
  std::unique_ptr<Run> run = std::move(*it);
  running_.erase(it);
  finish(*run, wstatus);
  std::string k = key(run->request);
  run.reset();
  if (auto p = pending_.find(k); p != pending_.end()) {
    Pending next = std::move(p->second);
    pending_.erase(p);
    start(std::move(next.request), next.events);
  }
}

void HookRunner::finish(Run& r, int wstatus) {
  // What the hook left in its group (a background `&`) goes with it: a hook is bounded.
  ::kill(-r.pid, SIGKILL);
  r.timer.stop();
  // The last of its output: the pipe holds at most what the group wrote before it ended.
  on_output(r);
  if (!r.line.empty() && !r.dropping) log_info("{}: {}", r.who, r.line);
  r.watcher.stop();
  if (r.timed_out) return;  // said when it was killed
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
    log_info("{} (pid {}) finished", r.who, r.pid);
  } else if (WIFEXITED(wstatus)) {
    log_warn("{} (pid {}) failed: exit code {}", r.who, r.pid, WEXITSTATUS(wstatus));
  } else if (WIFSIGNALED(wstatus)) {
    log_warn("{} (pid {}) failed: killed by {}", r.who, r.pid, signal_name(WTERMSIG(wstatus)));
  }
}

}  // namespace herd::manager
