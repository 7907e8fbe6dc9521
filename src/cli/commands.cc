#include "cli/commands.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>

extern char** environ;

namespace herd::cli {
namespace {

constexpr std::string_view kUsageHead = R"(herd — run any program on every core, with PM2's habits

usage: herd <verb> [arguments]

)";

constexpr std::string_view kUsageTail = R"(
HERD_HOME (default ~/.herd) holds the daemon's socket, logs and saved process list.
)";

using enum Needs;

// Every command, in the order of `herd help`. A data table: one row per command.
// clang-format off
constexpr Command kCommands[] = {
    {"start", {}, kClient, false, cmd_start,
     "start <script|\"cmd\"|ecosystem> [opts] [-- args]   start an app (herd start --help)"},
    {"apply", {}, kDaemon, false, cmd_apply,
     "apply <ecosystem> [--env E] [--only A] [--prune]  make what runs match the file: start\n"
     "                                                  new apps, reload changed ones, --prune\n"
     "                                                  deletes the ones it no longer has"},
    {"startOrRestart", {}, kDaemon, false, cmd_start_or,
     "startOrRestart|startOrReload|startOrGracefulReload <ecosystem file> [--env E] [--only A]"},
    {"startOrReload", {"startOrGracefulReload"}, kDaemon, false, cmd_start_or, ""},
    {"stop", {}, kDaemon, false, cmd_stop_restart_reset,
     "stop|restart|reload|delete <target...>            target: id, name, namespace, script,\n"
     "                                                  ecosystem file, /regex/ or all"},
    {"restart", {}, kDaemon, false, cmd_stop_restart_reset, ""},
    {"delete", {"del"}, kDaemon, false, cmd_delete, ""},
    {"reload", {}, kDaemon, false, cmd_reload,
     "reload <target...> [--update-env] [--parallel N]  rolling, zero-downtime (cluster mode)"},
    {"scale", {}, kDaemon, false, cmd_scale,
     "scale <app> <N|+N|-N>                             run N instances"},
    {"serve", {"expose"}, kClient, false, cmd_serve,
     "serve [path] [port] [--spa] [--name N] [-i N]     a folder's files over HTTP, as an app\n"
     "                                                  (herd serve --help)"},
    {"list", {"ls", "status", "l", "ps"}, kDaemon, false, cmd_list,
     "list|ls|ps|status [--sort FIELD[:asc|:desc]] [-m|--mini-list]   jlist   env <id>"},
    {"jlist", {}, kDaemon, true, cmd_jlist, ""},
    {"describe", {"show", "info", "desc"}, kDaemon, false, cmd_describe,
     "describe <target>   id <name>   pid [name]        one app's details, ids, pids"},
    {"env", {}, kDaemon, false, cmd_env, ""},
    {"id", {}, kDaemon, false, cmd_id, ""},
    {"pid", {}, kDaemon, false, cmd_pid, ""},
    {"prettylist", {}, kDaemon, true, cmd_prettylist,
     "prettylist                                        jlist as indented JSON"},
    {"logs", {}, kDaemon, false, cmd_logs,
     "logs [target...] [--lines N] [--nostream] [--raw] [--out|--err] [--timestamp [format]]\n"
     "     [--json|--format] [--highlight WORD]"},
    {"heapdump", {}, kDaemon, false, cmd_heapdump,
     "heapdump <target> [file]   profile <target> --cpu 10s [file]   a Node app's heap\n"
     "                                                  snapshot, CPU profile (DevTools)"},
    {"profile", {}, kDaemon, false, cmd_profile, ""},
    {"flush", {}, kDaemon, false, cmd_flush,
     "flush [target...]   reset <target...>   sendSignal|signal <SIG> <target...>"},
    {"reloadLogs", {}, kDaemon, true, cmd_reload_logs,
     "reloadLogs                                        reopen every log file (after logrotate)"},
    {"reset", {}, kDaemon, false, cmd_stop_restart_reset, ""},
    {"signal", {"sendSignal"}, kDaemon, false, cmd_signal, ""},
    {"send", {"attach"}, kNothing, false, cmd_send,
     "send|attach <id> ...                              not in herd: apps' stdin is /dev/null"},
    {"save", {"dump"}, kDaemon, false, cmd_save,
     "save|dump [--force]   resurrect   cleardump   ping   kill   version"},
    {"resurrect", {}, kDaemon, true, cmd_resurrect, ""},
    {"cleardump", {}, kHome, true, cmd_cleardump, ""},
    {"ping", {}, kDaemon, true, cmd_ping, ""},
    {"kill", {}, kClient, true, cmd_kill, ""},
    {"version", {"--version", "-v"}, kNothing, false, cmd_version, ""},
    {"update", {}, kDaemon, false, cmd_update,
     "update [--binary PATH]                            "
     "replace the daemon by this herd binary (or\n"
     "                                                  PATH), keeping every app running"},
    {"monit", {"dashboard", "dash"}, kDaemon, false, cmd_monit,
     "monit|dashboard|dash                              live view of every process and its log"},
    {"metrics", {}, kDaemon, false, cmd_metrics,
     "metrics                                           Prometheus text of every process"},
    {"daemon", {}, kHome, false, cmd_daemon,
     "daemon [--foreground] [--metrics-port N] [--metrics-addr IP]\n"
     "                                                  "
     "run the daemon (the first verb starts one)"},
    {"runtime", {}, kHome, false, cmd_runtime,
     "runtime [--json] [--no-auto-exit] <ecosystem|script> [start opts]\n"
     "                                                  "
     "run apps in the foreground, as a container's\n"
     "                                                  PID 1 or a systemd Type=notify service"},
    {"ecosystem", {"init"}, kNothing, false, cmd_ecosystem,
     "ecosystem|init [simple]                           write a sample ecosystem.config.js here"},
    {"startup", {"unstartup"}, kNothing, false, cmd_startup,
     "startup [systemd] [-u USER] [--hp DIR] [--service-name NAME] [--wait-ip] [--write]\n"
     "unstartup [systemd] [-u USER] [--service-name NAME]"},
    {"help", {"-h", "--help"}, kNothing, false, cmd_help, ""},
};
// clang-format on

}  // namespace

std::span<const Command> command_table() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
    for (std::string_view a : c.aliases) {
      if (!a.empty() && a == name) return &c;
    }
  }
  return nullptr;
}

std::string usage_text() {
  std::string text(kUsageHead);
  for (const Command& c : kCommands) {
    std::string_view help = c.help;
    while (!help.empty()) {
      std::size_t nl = help.find('\n');
      text += "  ";
      text += help.substr(0, nl);
      text += '\n';
      help = nl == std::string_view::npos ? std::string_view() : help.substr(nl + 1);
    }
  }
  text += kUsageTail;
  return text;
}

int fail_with(const std::string& message, int code) {
  std::fprintf(stderr, "herd: %s\n", message.c_str());
  return code;
}

int fail_with(const manager::ErrorReply& e) { return fail_with(e.message); }

std::map<std::string, std::string> current_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  return env;
}

}  // namespace herd::cli
