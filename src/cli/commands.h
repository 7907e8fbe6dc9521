// The herd command's verbs as one table: each command's names, its line of `herd help`, what it
// needs before it runs (the home, a connection to the daemon) and its handler. main() looks the
// first argument up here and runs the handler; the handlers live by family in cmd_*.cc.
//
// To add a command: a handler in the cmd_*.cc of its family (declared below), its row in
// commands.cc. A new daemon verb also needs its row in protocol/verbs.cc.
//
// Threads: the CLI's main thread.
#pragma once

#include <array>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/client.h"
#include "daemon/home.h"

namespace herd::cli {

using Args = std::vector<std::string>;

// What a handler gets: the words after the command, and (for commands that need the daemon)
// the client and the terminal's shape.
struct Cli {
  std::string_view name;  // the command as typed ("ls", "del", ...)
  Args args;
  manager::Home home;
  Client* client = nullptr;  // null for commands of Needs::kNothing and kHome
  bool color = false;
  int width = 0;
};

enum class Needs {
  kNothing,  // runs on its own (version, help, startup)
  kHome,     // the home (HERD_HOME), no daemon (daemon)
  kClient,   // a client, not connected: the handler connects when it is ready (start, kill)
  kDaemon,   // a client connected to the daemon, which is started when none runs
};

struct Command {
  std::string_view name;
  std::array<std::string_view, 4> aliases;  // other names; "" for unused slots
  Needs needs;
  bool no_args;  // refused with arguments, before the daemon is reached
  int (*run)(Cli& cli);
  // Its line of `herd help` (several lines may be joined by '\n'), or "" when an earlier
  // command's line names it too ("stop|restart|reload|delete <target...>").
  std::string_view help;
};

std::span<const Command> command_table();
// The command named `name` or one of its aliases; nullptr for none.
const Command* find_command(std::string_view name);
// `herd help`: the header, every command's help line, the footer.
std::string usage_text();

// Prints "herd: <message>" on stderr and returns `code`.
int fail_with(const std::string& message, int code = 1);
int fail_with(const manager::ErrorReply& e);
// The environment of this process, for --update-env.
std::map<std::string, std::string> current_env();
// Shows the process table, like PM2 after a verb that changed processes.
// `sort`: PM2's --sort value (render/format.h, FormatOptions::sort).
int print_list(Cli& cli, const std::string& sort = "name");

// The handlers, by family.
// cmd_apps.cc: verbs that change processes.
int cmd_start(Cli& cli);
int cmd_start_or(Cli& cli);
int cmd_apply(Cli& cli);
int cmd_stop_restart_reset(Cli& cli);
int cmd_delete(Cli& cli);
int cmd_reload(Cli& cli);
int cmd_scale(Cli& cli);
int cmd_signal(Cli& cli);
int cmd_send(Cli& cli);
// cmd_serve.cc: a folder over HTTP, as an app (or in this process with --foreground).
int cmd_serve(Cli& cli);
// cmd_show.cc: verbs that show processes.
int cmd_list(Cli& cli);
int cmd_jlist(Cli& cli);
int cmd_prettylist(Cli& cli);
int cmd_describe(Cli& cli);
int cmd_env(Cli& cli);
int cmd_id(Cli& cli);
int cmd_pid(Cli& cli);
int cmd_logs(Cli& cli);
int cmd_monit(Cli& cli);
int cmd_metrics(Cli& cli);
// cmd_diagnostics.cc: a Node app's heap snapshot and CPU profile.
int cmd_heapdump(Cli& cli);
int cmd_profile(Cli& cli);
// cmd_daemon.cc: the daemon itself, its state, herd itself.
int cmd_flush(Cli& cli);
int cmd_reload_logs(Cli& cli);
int cmd_save(Cli& cli);
int cmd_cleardump(Cli& cli);
int cmd_resurrect(Cli& cli);
int cmd_ping(Cli& cli);
int cmd_kill(Cli& cli);
int cmd_update(Cli& cli);
int cmd_daemon(Cli& cli);
int cmd_runtime(Cli& cli);
int cmd_startup(Cli& cli);
int cmd_version(Cli& cli);
int cmd_help(Cli& cli);
// cmd_ecosystem.cc: the sample ecosystem file.
int cmd_ecosystem(Cli& cli);

}  // namespace herd::cli
