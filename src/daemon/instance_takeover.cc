// An instance across `herd update` (takeover.h): its state out of the old daemon, and into the
// new one, which goes on supervising the same process.
#include <fmt/format.h>
#include <unistd.h>

#include "daemon/app.h"
#include "daemon/health/health_monitor.h"
#include "daemon/instance.h"
#include "herd/base/log.h"

namespace herd::manager {
nlohmann::json Instance::takeover_state(std::vector<int>* keep) const {
  nlohmann::json pipes = nlohmann::json::array();
  for (const auto& p : pipes_) {
    if (p->fd() >= 0) {
      pipes.push_back(p->fd());
      keep->push_back(p->fd());
    }
  }
  int ipc = ipc_watcher_ ? ipc_.get() : -1;
  int bind = bind_channel_ ? bind_channel_->fd() : -1;
  int accepts = diagnostics_.takeover_accept_fd();
  for (int fd : {ipc, bind, accepts}) {
    if (fd >= 0) keep->push_back(fd);
  }
  return {
      {"id", id_},
      {"index", index_},
      {"pid", pid_},
      {"status", static_cast<int>(status_)},
      {"created_at", created_at_ms_},
      {"started_at", started_at_ms_},
      {"restarts", restarts_},
      {"reloads", reloads_},
      {"unstable_restarts", policy_.unstable_restarts},
      {"last_backoff_ms", policy_.last_backoff_ms},
      {"exit_code", last_exit_code_},
      {"exit_signal", last_signal_},
      {"status_text", status_text_},
      {"env", env_},
      {"interpreter", interpreter_},
      {"exec_path", exec_path_},
      {"listen_timed_out", listen_timed_out_},
      {"health_alt_port", health_alt_port_},
      {"node_preload", node_preload_},
      {"pipes", pipes},
      {"ipc", ipc},
      {"bind", bind},
      {"accepts", accepts},
      {"cgroup", cgroup_},
      {"exit_reason", exit_reason_},
  };
}

Status Instance::adopt(const nlohmann::json& s) {
  try {
    pid_ = s.at("pid").get<pid_t>();
    status_ = static_cast<InstanceStatus>(s.at("status").get<int>());
    created_at_ms_ = s.at("created_at").get<std::uint64_t>();
    started_at_ms_ = s.at("started_at").get<std::uint64_t>();
    // The loop's clock starts anew: the uptime so far, from the wall clock.
    std::uint64_t up = wall_clock_ms() > started_at_ms_ ? wall_clock_ms() - started_at_ms_ : 0;
    std::uint64_t now = host_.loop().now();
    started_mono_ms_ = now > up ? now - up : 0;
    restarts_ = s.at("restarts").get<int>();
    reloads_ = s.at("reloads").get<int>();
    policy_.unstable_restarts = s.at("unstable_restarts").get<int>();
    policy_.last_backoff_ms = s.at("last_backoff_ms").get<std::uint64_t>();
    last_exit_code_ = s.at("exit_code").get<int>();
    last_signal_ = s.at("exit_signal").get<int>();
    status_text_ = s.at("status_text").get<std::string>();
    env_ = s.at("env").get<std::vector<std::string>>();
    env_changed();
    interpreter_ = s.at("interpreter").get<std::string>();
    exec_path_ = s.value("exec_path", "");  // absent in the state of an older daemon
    listen_timed_out_ = s.at("listen_timed_out").get<bool>();
    health_alt_port_ = s.value("health_alt_port", false);
    cgroup_ = s.value("cgroup", "");  // absent in the state of an older daemon
    exit_reason_ = s.value("exit_reason", "");
    node_preload_ = s.value("node_preload", false);  // an older daemon's: none of its reports
    std::vector<int> pipes = s.at("pipes").get<std::vector<int>>();
    int ipc = s.at("ipc").get<int>();
    int bind = s.at("bind").get<int>();
    diagnostics_.adopt_accept_fd(s.value("accepts", -1), app_->name, id_);  // older daemons: none
    if (pid_ > 0) host_.register_pid(pid_, this);
    // The watchdog starts a full interval over in the new daemon.
    if (pid_ > 0 && status_ != InstanceStatus::kStopping) arm_watchdog();
    // Lines go to the same files. The last pair is the running process's out and err; an
    // earlier one (a finished run still draining) is let go.
    for (std::size_t i = 0; i + 2 < pipes.size(); ++i) ::close(pipes[i]);
    if (pipes.size() >= 2) attach_output(Fd(pipes[pipes.size() - 2]), Fd(pipes.back()));
    if (ipc >= 0) start_ipc(Fd(ipc));
    if (bind >= 0) {
      bind_channel_ = BindChannel::adopt(host_.loop(), Fd(bind), bind_handlers());
      if (Status st = bind_channel_->start(); !st) return st;
    }
    // The checks start over in the new daemon; an online instance stays online meanwhile.
    if (pid_ > 0) {
      start_health();
      health_passed_ = status_ == InstanceStatus::kOnline;
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(EINVAL, fmt::format("instance state: {}", e.what()));
  }
  return {};
}

}  // namespace herd::manager
