// The commands that change processes: start, stop, restart, reset, delete, reload, scale,
// signal. Each shows the process table afterwards, as PM2 does (signal prints what it sent).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/setting_values.h"
#include "cli/cmd_apply.h"
#include "cli/cmd_targets.h"
#include "cli/commands.h"
#include "cli/start_args.h"

namespace herd::cli {
namespace {

using manager::Verb;
using nlohmann::json;

// --parallel's value: a number from 1 to 1024.
std::expected<int, std::string> parse_parallel(const std::string& value) {
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < 1 || n > 1024) {
    return std::unexpected("--parallel takes a number from 1 to 1024, not '" + value + "'");
  }
  return static_cast<int>(n);
}

// The options of the verbs that act on targets; the rest of the words are the targets.
std::expected<TargetAction, std::string> read_target_args(Cli& cli, Verb verb) {
  TargetAction act{.verb = verb};
  const Args& args = cli.args;
  bool rolling = verb == Verb::kReload || verb == Verb::kRestart;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string flag = a.substr(0, a.find('='));
    bool valued = flag == "--env" || flag == "--only" || (flag == "--parallel" && rolling);
    std::string value;
    if (valued) {
      if (flag.size() < a.size()) {
        value = a.substr(flag.size() + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return std::unexpected(flag + " needs a value");
      }
    }
    if ((a == "--update-env" || a == "-a") && rolling) {
      act.update_env = current_env();
    } else if (flag == "--env") {
      act.env_name = value;
    } else if (flag == "--only") {
      act.only = manager::detail::split_commas(value);
    } else if (flag == "--parallel" && rolling) {
      auto n = parse_parallel(value);
      if (!n) return std::unexpected(n.error());
      act.parallel = *n;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return std::unexpected(fmt::format("unknown option '{}' for {}", a, cli.name));
    } else {
      act.targets.push_back(a);
    }
  }
  act.start_missing = rolling;
  return act;
}

int run_target_verb(Cli& cli, Verb verb) {
  auto act = read_target_args(cli, verb);
  if (!act) return fail_with(act.error());
  return act_on_targets(cli, *act);
}

// `herd start <name|namespace|id>` of what herd already manages restarts it, as PM2's
// _startScript does before it reads the word as a program: a word without '/' and without an
// extension that names an app or a namespace, or an id.
bool names_existing(const std::string& word, const nlohmann::json& list) {
  bool id = !word.empty() && word.find_first_not_of("0123456789") == std::string::npos;
  if (!id &&
      (word.find('/') != std::string::npos || !std::filesystem::path(word).extension().empty())) {
    return false;
  }
  for (const auto& p : list) {
    if (id ? std::to_string(p.value("pm_id", -1)) == word
           : p.value("name", "") == word || p["pm2_env"].value("namespace", "default") == word) {
      return true;
    }
  }
  return false;
}

}  // namespace

int cmd_start(Cli& cli) {
  for (const auto& a : cli.args) {
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      std::fputs(start_usage(), stdout);
      return 0;
    }
  }
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return fail_with("cannot read the working directory");
  auto req = parse_start(cli.args, current_env(), cwd);
  if (!req) return fail_with(manager::input_error_message(req.error()));
  for (const auto& w : req->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
  if (Status s = cli.client->connect(true); !s) return fail_with(client_error(s.error()));
  auto list = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  if (!list) return fail_with(list.error());
  int code = 0;
  std::vector<manager::AppSpec> fresh;
  Args attach;  // --attach: what to stream afterwards
  for (const StartTarget& t : req->targets) {
    auto first = req->apps.begin() + static_cast<long>(t.first);
    std::vector<manager::AppSpec> apps(first, first + static_cast<long>(t.count));
    if (names_existing(t.word, *list)) {
      attach.push_back(t.word);
    } else {
      for (const auto& a : apps) attach.push_back(a.name);
    }
    if (t.file) {
      // PM2's _startJson: the file's running apps restart with its environment read again.
      TargetAction act{.verb = Verb::kStart, .targets = {t.word}, .start_missing = true};
      code = std::max(code, act_on_file_apps(cli, act, t.word, std::move(apps)));
    } else if (names_existing(t.word, *list)) {
      auto r = cli.client->call(Verb::kRestart, manager::RestartRequest{{t.word}, {}, {}});
      if (!r) code = fail_with(r.error());
    } else {
      for (auto& a : apps) fresh.push_back(std::move(a));
    }
  }
  code = std::max(code, start_specs(cli, fresh));
  int shown = print_list(cli);
  if (code != 0 || shown != 0 || !req->attach) return code != 0 ? code : shown;
  // PM2's --attach: stream the started apps' new log lines until Ctrl-C (`herd logs`).
  cli.args = std::move(attach);
  cli.args.insert(cli.args.end(), {"--lines", "0"});
  std::fflush(stdout);
  return cmd_logs(cli);
}

// startOrRestart | startOrReload | startOrGracefulReload <ecosystem file...>: PM2's names for
// restart and reload of a file, starting the apps that do not run. `herd apply` without
// --prune, with every running app of the file restarted (reloaded) even when its definition did
// not change: that is how a deploy picks up new code on disk. The shell's environment comes
// with the file's, as PM2's _startJson passes it (--update-env is implied).
int cmd_start_or(Cli& cli) {
  Verb verb = cli.name == "startOrRestart" ? Verb::kRestart : Verb::kReload;
  auto act = read_target_args(cli, verb);
  if (!act) return fail_with(act.error());
  if (act->targets.empty()) return fail_with(fmt::format("{} needs an ecosystem file", cli.name));
  for (const auto& t : act->targets) {
    if (!is_ecosystem_target(t)) {
      return fail_with(
          fmt::format("{} takes an ecosystem file; '{}' is not one (use `herd "
                      "start {}`)",
                      cli.name, t, t));
    }
  }
  ApplyArgs args{.unchanged = verb == Verb::kRestart ? "restart" : "reload",
                 .parallel = act->parallel};
  int code = 0;
  for (const auto& t : act->targets) {
    auto eco = load_file(t, *act);
    if (!eco) return fail_with(manager::input_error_message(eco.error()));
    for (const auto& w : eco->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
    code = std::max(code, apply_file_apps(cli, t, std::move(eco->apps), args));
  }
  int list = print_list(cli);
  return code != 0 ? code : list;
}

int cmd_stop_restart_reset(Cli& cli) {
  Verb verb = cli.name == "restart" ? Verb::kRestart
              : cli.name == "stop"  ? Verb::kStop
                                    : Verb::kReset;
  return run_target_verb(cli, verb);
}

int cmd_delete(Cli& cli) { return run_target_verb(cli, Verb::kDelete); }

// reload <target...> [--update-env] [--parallel N]: rolling; exits 1 with the daemon's reason
// when a replacement failed.
int cmd_reload(Cli& cli) { return run_target_verb(cli, Verb::kReload); }

int cmd_scale(Cli& cli) {
  if (cli.args.size() != 2) return fail_with("usage: herd scale <app> <N|+N|-N>");
  auto r = cli.client->call(Verb::kScale, manager::ScaleRequest{cli.args[0], cli.args[1]});
  if (!r) return fail_with(r.error());
  return print_list(cli);
}

int cmd_signal(Cli& cli) {
  const Args& rest = cli.args;
  if (rest.size() < 2) return fail_with("usage: herd signal <SIGNAL> <target...>");
  std::vector<std::string> targets(rest.begin() + 1, rest.end());
  auto r = cli.client->call(Verb::kSignal, manager::SignalRequest{rest[0], targets});
  if (!r) return fail_with(r.error());
  for (const auto& p : *r) {
    std::printf("sent %s to %s (id %d, pid %d)\n", rest[0].c_str(), p.value("name", "").c_str(),
                p.value("pm_id", -1), p.value("pid", 0));
  }
  return 0;
}

// PM2's `send <id> <line>` and `attach <id>` write to a fork-mode app's stdin, a pipe PM2 keeps
// open. herd gives every app /dev/null as stdin (a program that reads it sees end of file at
// once, where under PM2 it would wait forever), so there is nothing to write to: the verbs say
// so instead of being unknown.
int cmd_send(Cli& cli) {
  return fail_with(fmt::format(
      "{}: herd gives apps /dev/null as stdin, so there is no input to write to; talk to the app "
      "through a signal (herd signal SIGUSR2 <target>), a socket or a file it reads",
      cli.name));
}

}  // namespace herd::cli
