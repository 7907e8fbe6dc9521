#include "daemon/runtime.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "daemon/daemon_impl.h"
#include "daemon/descriptor_limit.h"
#include "daemon/home_lock.h"
#include "daemon/state_file.h"
#include "herd/base/log.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "herd/net/socket_activation.h"
#include "logs/log_line_format.h"
#include "protocol/version.h"

namespace herd::manager {
namespace {

using detail::Daemon;
using nlohmann::json;

// How often the runtime looks whether every app is online (READY=1) and whether any is left.
constexpr std::uint64_t kWatchMs = 100;
// Bytes of app output held for one write: a bound, not a goal (a slow stdout blocks the write).
constexpr std::size_t kMaxPending = 1 << 20;

// Writes `data` whole to `fd` (stdout/stderr), retrying short writes and EINTR. A closed or
// broken stdout drops the output: the apps run on.
void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

class Runtime {
 public:
  Runtime(EventLoop& loop, Daemon& daemon, const RuntimeOptions& options)
      : loop_(loop), daemon_(daemon), options_(options), watch_(loop) {}

  ~Runtime() {
    flush();
    if (sub_ != 0) daemon_.supervisor().unsubscribe_logs(sub_);
  }

  Status begin(std::vector<AppSpec> apps) {
    auto sub = daemon_.supervisor().subscribe_logs(
        {}, [this](const std::string& app, int id, const char* stream, std::string_view line) {
          on_line(app, id, stream, line);
        });
    if (!sub) return fail(EINVAL, sub.error().message);
    sub_ = *sub;
    if (Status s = daemon_.set_quit_handler([this](int signum) { on_signal(signum); }); !s) {
      return s;
    }
    for (AppSpec& a : apps) {
      // Output goes to this process's stdout/stderr, not to files (unless the file names them).
      if (a.out_file.empty()) a.out_file = "/dev/null";
      if (a.error_file.empty()) a.error_file = "/dev/null";
    }
    std::size_t count = apps.size();
    daemon_.start_specs(std::move(apps), [this, count](Daemon::StartOutcome o) {
      if (!o.errors.empty()) {
        for (const ErrorReply& e : o.errors) log_error("runtime: {}", e.message);
        log_error("runtime: {} of {} app(s) could not start; stopping everything", o.errors.size(),
                  count);
        exit_code_ = 1;
        daemon_.shutdown(nullptr);
        return;
      }
      log_info("runtime: {} app(s), {} instance(s) started", count, o.processes.size());
      watch_.start([this] { look(); }, kWatchMs, kWatchMs);
      watch_.unref();
    });
    return {};
  }

  int exit_code() const { return exit_code_; }

 private:
  void on_line(const std::string& app, int id, const char* stream, std::string_view line) {
    bool err = std::string_view(stream) == "err";
    std::string& buf = options_.json_logs || !err ? out_ : err_;
    if (options_.json_logs) {
      json obj = {{"time", format_iso_utc(std::chrono::system_clock::now())},
                  {"app", app},
                  {"id", id},
                  {"stream", err ? "stderr" : "stdout"},
                  {"message", line}};
      buf += obj.dump(-1, ' ', false, json::error_handler_t::replace);
    } else {
      buf += fmt::format("{}|{} | ", id, app);
      buf += line;
    }
    buf += '\n';
    if (out_.size() + err_.size() > kMaxPending) {
      flush();
    } else if (!flush_scheduled_) {
      // One write per stream per loop iteration, however many lines it read.
      flush_scheduled_ = true;
      loop_.set_immediate([this] {
        flush_scheduled_ = false;
        flush();
      });
    }
  }

  void flush() {
    if (!out_.empty()) write_all(STDOUT_FILENO, out_);
    if (!err_.empty()) write_all(STDERR_FILENO, err_);
    out_.clear();
    err_.clear();
  }

  void on_signal(int signum) {
    ++signals_;
    if (signals_ == 1) {
      log_info("runtime: {} received, stopping every app (again: stop now)", strsignal(signum));
      exit_code_ = 0;
      stopping_ = true;
      daemon_.shutdown(nullptr);
      return;
    }
    log_warn("runtime: {} received again, killing every app now", strsignal(signum));
    exit_code_ = 128 + signum;
    for (const json& p : daemon_.supervisor().jlist(Instance::Detail::kBrief)) {
      int pid = p.value("pid", 0);
      if (pid > 0) ::kill(-pid, SIGKILL);  // each instance leads its own process group
    }
  }

  // Every kWatchMs: READY=1 once every app is online; the end once none is left.
  void look() {
    if (stopping_) return;
    Supervisor& sup = daemon_.supervisor();
    if (!ready_sent_ && sup.not_ready().empty()) {
      ready_sent_ = true;
      if (Status s = sd_notify("READY=1\nSTATUS=every app is online"); !s) {
        log_warn("runtime: {}", s.error().message());
      }
      log_info("runtime: every app is online");
    }
    if (!options_.auto_exit) return;
    json list = sup.jlist(Instance::Detail::kBrief);
    int code = 0;
    for (const json& p : list) {
      const json& env = p["pm2_env"];
      std::string status = env.value("status", "");
      // Alive: running, or on its way to run by itself. An app waiting for a dependency that
      // failed (depends_on) is not: nothing will start it.
      if (status == "online" || status == "launching" || status == "stopping" ||
          status == "waiting restart") {
        return;
      }
      if (code != 0) continue;
      if (int sig = env.value("exit_signal", 0); sig > 0) {
        code = 128 + sig;
      } else {
        code = env.value("exit_code", 0);
      }
    }
    log_info("runtime: no app is online any more; exiting ({})", code);
    exit_code_ = code;
    stopping_ = true;
    daemon_.shutdown(nullptr);
  }

  EventLoop& loop_;
  Daemon& daemon_;
  const RuntimeOptions& options_;
  Timer watch_;
  std::uint64_t sub_ = 0;
  std::string out_;
  std::string err_;
  bool flush_scheduled_ = false;
  bool ready_sent_ = false;
  bool stopping_ = false;
  int signals_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int run_runtime(const Home& home, const RuntimeOptions& options, std::vector<AppSpec> apps) {
  // What the container runtime or shell left open without CLOEXEC is not ours (run_daemon).
  ::close_range(3, ~0U, 0);
  raise_descriptor_limit();
  auto metrics = detail::metrics_endpoint_of(options.daemon);
  if (!metrics) {
    log_error("herd runtime: {}", metrics.error().context());
    return 1;
  }
  if (Status s = home.prepare(); !s) {
    log_error("herd runtime: {}", s.error().message());
    return 1;
  }
  auto lock = lock_home(home);
  if (!lock) {
    log_error("herd runtime: {}", lock.error());
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (Status s = write_file_atomic(home.pid_file(), std::to_string(::getpid()) + "\n", false); !s) {
    log_warn("herd runtime: {}", s.error().message());
  }
  int code = 1;
  bool home_gone = false;
  {
    EventLoop loop;
    Daemon daemon(loop, home, *metrics, true);
    if (Status s = daemon.start(0, false); !s) {
      log_error("herd runtime: {}", s.error().message());
    } else {
      log_info("herd runtime {} for {} (pid {})", kHerdVersion, home.dir, ::getpid());
      Runtime rt(loop, daemon, options);
      Status begun = rt.begin(std::move(apps));
      if (!begun) {
        log_error("herd runtime: {}", begun.error().message());
        daemon.shutdown(nullptr);
      }
      loop.run();
      code = begun ? rt.exit_code() : 1;
      // Not a stop anyone asked for: a container's orchestrator should hear of it.
      if (daemon.home_gone()) code = 1;
      home_gone = daemon.home_gone();
    }
  }
  if (!home_gone) ::unlink(home.pid_file().c_str());
  log_info("herd runtime: stopped");
  return code;
}

}  // namespace herd::manager
