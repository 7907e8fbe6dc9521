// An instance in cluster mode with herd's bind library (docs/cluster-mode.md): the channel its
// bind() calls reach, what is put in its environment and command line, and readiness when it
// listens.
#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "daemon/app.h"
#include "daemon/cluster_mode/inject_files.h"
#include "daemon/instance.h"
#include "daemon/spawn.h"
#include "herd/base/log.h"

namespace herd::manager {

bool Instance::ready_on_listen() const {
  return bind_channel_ != nullptr && !app_->spec.wait_ready && !app_->sockets.has_static();
}

void Instance::on_listening() {
  if (ready_on_listen()) on_ready();
}

BindChannel::Handlers Instance::bind_handlers() {
  BindChannel::Handlers handlers;
  handlers.bind = [this](const Address& address, int v6only) -> Result<int> {
    auto fd = app_->sockets.acquire(address, v6only);
    if (!fd) {
      log_info("app {} (id {}): bind {}: {}", app_->name, id_, address.to_string(),
               fd.error().message());
    }
    return fd;
  };
  handlers.listening = [this](const Address&) { on_listening(); };
  handlers.holds_path = [this](const std::string& path) {
    return app_->sockets.holds_unix_path(path);
  };
  return handlers;
}

// A Node program in fork mode gets herd's preload for its code metrics (docs/diagnostics.md),
// and nothing else: no bind library, no graceful drain (the preload drains only with
// HERD_BIND_FD). `inject: false` leaves it out.
void Instance::prepare_node_preload(SpawnOptions& o, const std::string& interpreter) {
  if (interpreter != "node" || !app_->spec.inject || o.argv.empty()) return;
  auto files = find_inject_files();
  if (!files) {
    log_warn("app {} (id {}): herd's Node preload is missing ({}); no code metrics", app_->name,
             id_, files.error().message());
    return;
  }
  o.argv.insert(o.argv.begin() + 1, {"--require", files->node_preload});
  add_code_metrics_env(o);
}

// The preload reports only when asked to, with the interval: a program the preload reaches
// through another way (a Node cluster worker forked by the app) inherits no channel to herd.
void Instance::add_code_metrics_env(SpawnOptions& o) {
  node_preload_ = true;
  o.env.push_back(fmt::format("HERD_CODE_METRICS={}", kCodeMetricsIntervalMs));
}

Fd Instance::prepare_injection(SpawnOptions& o, const std::string& interpreter) {
  node_preload_ = false;
  // A libherd program reports its HTTP server's figures on the notify socket when asked so.
  if (app_->spec.inject && interpreter != "node") {
    o.env.push_back(fmt::format("HERD_CODE_METRICS={}", kCodeMetricsIntervalMs));
  }
  if (!app_->injects()) {
    prepare_node_preload(o, interpreter);
    return {};
  }
  auto files = find_inject_files();
  if (!files) {
    log_warn(
        "app {} (id {}): herd's bind library is missing ({}); the instance binds its own "
        "sockets",
        app_->name, id_, files.error().message());
    return {};
  }
  auto made = BindChannel::create(host_.loop(), bind_handlers());
  if (!made) {
    log_warn("app {} (id {}): herd's bind channel: {}", app_->name, id_, made.error().message());
    return {};
  }
  bind_channel_ = std::move(made->first);
  o.bind_fd = made->second.get();
  o.accept_fd = diagnostics_.accept_fd(app_->name, id_);
  // Ours first; whatever the app's environment preloads already stays after it.
  constexpr std::string_view kPreload = "LD_PRELOAD=";
  std::string preload = fmt::format("{}{}", kPreload, files->library);
  auto it = std::find_if(o.env.begin(), o.env.end(),
                         [&](const std::string& kv) { return kv.starts_with(kPreload); });
  if (it != o.env.end()) {
    std::string_view theirs = std::string_view(*it).substr(kPreload.size());
    if (!theirs.empty()) preload = fmt::format("{}:{}", preload, theirs);
    *it = std::move(preload);
  } else {
    o.env.push_back(std::move(preload));
  }
  if (interpreter == "node" && !o.argv.empty()) {
    o.argv.insert(o.argv.begin() + 1, {"--require", files->node_preload});
    add_code_metrics_env(o);
  }
  return std::move(made->second);
}

}  // namespace herd::manager
