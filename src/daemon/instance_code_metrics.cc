// An instance's diagnostics (docs/diagnostics.md, "For Node apps"): the code metrics its
// process reports (herd's Node preload over the IPC channel, a libherd program over the notify
// socket), and the heap snapshots and CPU profiles it is asked for.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

#include "daemon/app.h"
#include "daemon/instance.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

// Reports and answers are flat objects: a line that nests deeper is not one (and is not handed
// to the JSON parser). Brackets inside strings count too, which only refuses more.
bool flat_enough(std::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return c == '{' || c == '['; }) <= 4;
}

}  // namespace

void Instance::on_ipc_object(std::string_view line) {
  if (!node_preload_ || !flat_enough(line)) return;  // the program's own messages
  auto msg = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!msg.is_object()) return;
  auto kind = msg.find("herd");
  if (kind == msg.end() || !kind->is_string()) return;
  const auto& k = kind->get_ref<const std::string&>();
  if (k == "metrics") {
    if (!code_metrics_.update(msg, "node", host_.loop().now()) && code_metrics_.rejected() == 1) {
      log_warn("app {} (id {}): a code metrics report out of bounds was dropped", app_->name, id_);
    }
  } else if ((k == "heapdump" || k == "profile") && node_diagnostics_) {
    node_diagnostics_->on_answer(msg);
  }
}

void Instance::on_metrics_notify(std::string_view json_text) {
  if (json_text.size() > 4096 || !flat_enough(json_text)) return;
  auto msg = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  (void)code_metrics_.update(msg, "libherd", host_.loop().now());
}

void Instance::diagnose(std::string_view kind, const std::string& file, std::int64_t duration_ms,
                        NodeDiagnostics::Done done) {
  auto refuse = [&](ErrorCode code, std::string why) {
    done(std::unexpected(ErrorReply{code, std::move(why)}));
  };
  const std::string who = fmt::format("app '{}' (id {})", app_->name, id_);
  if (pid_ <= 0) {
    return refuse(ErrorCode::kBadTarget,
                  fmt::format("{} is {}: no process to ask", who, status_name(status_)));
  }
  if (interpreter_ != "node") {
    return refuse(ErrorCode::kBadTarget,
                  fmt::format("{} is not a Node app (interpreter: {}); {} needs herd's Node "
                              "preload",
                              who, interpreter_, kind));
  }
  if (!node_preload_) {
    return refuse(ErrorCode::kBadTarget,
                  fmt::format("{} runs without herd's Node preload (inject: false, or the "
                              "preload is missing; see herd.log); {} needs it",
                              who, kind));
  }
  if (!node_diagnostics_) {
    return refuse(ErrorCode::kIo, fmt::format("{} has no IPC channel open", who));
  }
  if (node_diagnostics_->busy()) {
    return refuse(ErrorCode::kBusy,
                  fmt::format("{} is already writing a heap snapshot or CPU profile; try again "
                              "when it is done",
                              who));
  }
  log_info("app {} (id {}): {} to {}", app_->name, id_, kind, file);
  node_diagnostics_->request(kind, file, duration_ms, std::move(done));
}

void Instance::report_code_metrics(nlohmann::json* pm2_env) const {
  if (code_metrics_.empty()) return;
  (*pm2_env)["code_metrics"] = code_metrics_.to_json(host_.loop().now());
  (*pm2_env)["axm_monitor"] = code_metrics_.to_axm_monitor();
}

}  // namespace herd::manager
