// `herd ls -m`: PM2's mini list (lib/API/UX/pm2-ls-minimal.js), one block of "key : value"
// lines per instance, without a table or colours, for scripts and narrow terminals.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/render/format.h"
#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

const json* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// A value as PM2's console.log('%s') prints it: strings as they are (sanitized), numbers and
// booleans as JSON; a missing value (a program without a package.json has no version) as PM2's
// "N/A".
std::string shown(const json* v) {
  if (v == nullptr || v->is_null()) return "N/A";
  if (v->is_string()) return sanitize(v->get_ref<const std::string&>());
  return v->dump();
}

std::int64_t whole(const json* v) {
  if (v == nullptr || !v->is_number()) return 0;
  return v->is_number_float() ? static_cast<std::int64_t>(v->get<double>())
                              : v->get<std::int64_t>();
}

std::string mini_block(const json& instance, std::int64_t now_ms) {
  static const json kEmpty = json::object();
  const json* env_p = field(instance, "pm2_env");
  const json& env = env_p != nullptr && env_p->is_object() ? *env_p : kEmpty;
  std::string mode = shown(field(env, "exec_mode"));
  if (auto at = mode.find("_mode"); at != std::string::npos) mode.resize(at);
  std::string status = shown(field(env, "status"));
  std::int64_t started = whole(field(env, "pm_uptime"));
  std::string uptime =
      started > 0 && status == "online" ? format_uptime(now_ms - started) : std::string("0");
  // PM2's bytesToSize ends every size with a space; kept, so a script that cut it keeps working.
  const json* monit = field(instance, "monit");
  std::string memory;
  if (monit != nullptr && monit->is_object()) {
    std::int64_t bytes = whole(field(*monit, "memory"));
    memory = format_memory(static_cast<std::uint64_t>(bytes < 0 ? 0 : bytes)) + " ";
  }
  const json* watch = field(env, "watch");
  bool watching = watch != nullptr && !watch->is_null() && *watch != false && *watch != "" &&
                  !(watch->is_array() && watch->empty());
  return fmt::format(
      "+--- {}\nnamespace : {}\nversion : {}\npid : {}\npm2 id : {}\nstatus : {}\nmode : {}\n"
      "restarted : {}\nuptime : {}\nmemory usage : {}\nerror log : {}\nwatching : {}\n"
      "PID file : {}\n\n",
      shown(field(env, "name")), shown(field(env, "namespace")), shown(field(env, "version")),
      shown(field(instance, "pid")), shown(field(env, "pm_id")), status, mode,
      whole(field(env, "restart_time")), uptime, memory, shown(field(env, "pm_err_log_path")),
      watching ? "yes" : "no", shown(field(env, "pm_pid_path")));
}

}  // namespace

std::string format_mini_list(const nlohmann::json& jlist, const FormatOptions& o) {
  std::string out;
  if (!jlist.is_array()) return out;
  for (const json& instance : jlist) out += mini_block(instance, o.now_ms);
  return out;
}

}  // namespace herd::cli
