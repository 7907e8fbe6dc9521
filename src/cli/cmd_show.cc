// The commands that show processes: list, jlist, prettylist, describe, env, logs, monit,
// metrics.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/commands.h"
#include "cli/monit.h"
#include "cli/render/format.h"
#include "logs/log_line_format.h"
#include "logs/log_tail.h"
#include "metrics/prometheus_text.h"

namespace herd::cli {
namespace {

using manager::Verb;
using nlohmann::json;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FormatOptions format_options(const Cli& cli) {
  FormatOptions o;
  o.color = cli.color;
  o.now_ms = now_ms();
  o.width = cli.width;
  return o;
}

struct LogsOptions {
  std::size_t lines = 15;
  bool stream = true, raw = false, out = true, err = true, json = false, format = false;
  std::string timestamp;  // --timestamp's dayjs format; "" for none
  std::string highlight;  // --highlight's word; "" for none
  bool color = false;     // stdout is a terminal (and NO_COLOR unset): --highlight shows
  std::vector<std::string> targets;
};

// PM2's --format stamps every line with this dayjs format (its logs command passes it).
constexpr const char* kFormatTimestamp = "YYYY-MM-DD-HH:mm:ssZZ";

// PM2's default for a bare --timestamp.
constexpr const char* kDefaultLogTimestamp = "YYYY-MM-DD-HH:mm:ss";

std::expected<LogsOptions, std::string> parse_logs(const Args& args) {
  LogsOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--lines" && i + 1 < args.size()) {
      char* end = nullptr;
      o.lines = std::strtoul(args[++i].c_str(), &end, 10);
      if (*end != '\0') return std::unexpected("--lines takes a number, not '" + args[i] + "'");
    } else if (a.rfind("--lines=", 0) == 0) {
      o.lines = std::strtoul(a.c_str() + 8, nullptr, 10);
    } else if (a == "--nostream") {
      o.stream = false;
    } else if (a == "--raw") {
      o.raw = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--format") {
      o.format = true;
    } else if (a == "--highlight") {
      // As PM2's `--highlight [value]`: the next word unless it is an option; none, no effect.
      if (i + 1 < args.size() && !args[i + 1].starts_with("-")) o.highlight = args[++i];
    } else if (a.starts_with("--highlight=")) {
      o.highlight = a.substr(12);
    } else if (a == "--timestamp") {
      // As PM2's `--timestamp [format]`: the next word is the format unless it is an option.
      bool has_format = i + 1 < args.size() && !args[i + 1].starts_with("-");
      o.timestamp = has_format ? args[++i] : kDefaultLogTimestamp;
    } else if (a.starts_with("--timestamp=")) {
      o.timestamp = a.substr(12);
      if (o.timestamp.empty()) o.timestamp = kDefaultLogTimestamp;
    } else if (a == "--out") {
      o.err = false;
    } else if (a == "--err") {
      o.out = false;
    } else if (!a.empty() && a[0] == '-') {
      return std::unexpected("unknown option '" + a + "' for logs");
    } else {
      o.targets.push_back(a);
    }
  }
  if (o.targets.empty()) o.targets.push_back("all");
  return o;
}

// The last lines of each log file, read from disk directly (fast, and works for stopped apps).
void print_tails(const json& procs, const LogsOptions& o) {
  std::vector<std::string> shown;
  for (const auto& p : procs) {
    for (const char* key : {"pm_out_log_path", "pm_err_log_path"}) {
      bool is_out = std::strcmp(key, "pm_out_log_path") == 0;
      if ((is_out && !o.out) || (!is_out && !o.err)) continue;
      std::string path = p["pm2_env"].value(key, "");
      if (path.empty() || std::find(shown.begin(), shown.end(), path) != shown.end()) continue;
      shown.push_back(path);
      auto tail = manager::tail_lines(path, o.lines);
      if (!o.raw) std::printf("%s last %zu lines:\n", path.c_str(), o.lines);
      if (tail) {
        for (const auto& l : *tail) {
          if (o.raw) {
            std::fprintf(is_out ? stdout : stderr, "%s\n", l.c_str());
          } else {
            std::printf("%d|%s | %s\n", p.value("pm_id", -1), p.value("name", "").c_str(),
                        l.c_str());
          }
        }
      }
      if (!o.raw) std::printf("\n");
    }
  }
  std::fflush(stdout);
}

// PM2's --highlight: the first occurrence of the word on a background of bright black (chalk's
// bgBlackBright), only on a terminal: chalk writes no colour elsewhere, so neither does herd.
std::string highlighted(std::string line, const LogsOptions& o) {
  if (o.highlight.empty() || !o.color) return line;
  std::size_t at = line.find(o.highlight);
  if (at == std::string::npos) return line;
  line.replace(at, o.highlight.size(), "\x1b[100m" + o.highlight + "\x1b[49m");
  return line;
}

// One line of `logs`' live stream, in PM2's shapes: --json's object (PM2's jsonStream fields,
// the time the CLI got the line, in UTC), --raw's bare line (stderr's on stderr), --format's
// "timestamp=... app=<name> id=<id> type=out|error message=<line>" (PM2's formatStream), or
// "[<timestamp> ]<id>|<name> | <line>".
void print_live_line(const json& ev, const LogsOptions& o) {
  std::string line = ev.value("line", "");
  bool is_err = ev.value("stream", "") == "err";
  auto now = std::chrono::system_clock::now();
  if (o.json) {
    json obj = {{"message", line},
                {"timestamp", manager::format_iso_utc(now)},
                {"type", is_err ? "err" : "out"},
                {"process_id", ev.value("pm_id", -1)},
                {"app_name", ev.value("app", "")}};
    std::printf("%s\n", obj.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  } else if (o.format) {
    std::printf("timestamp=%s app=%s id=%d type=%s message=%s\n",
                manager::format_dayjs(kFormatTimestamp, now).c_str(), ev.value("app", "").c_str(),
                ev.value("pm_id", -1), is_err ? "error" : "out", highlighted(line, o).c_str());
  } else if (o.raw) {
    std::fprintf(is_err ? stderr : stdout, "%s\n", line.c_str());
    std::fflush(stderr);
  } else {
    std::string stamp;
    if (!o.timestamp.empty()) stamp = manager::format_dayjs(o.timestamp, now) + " ";
    std::printf("%s%d|%s | %s\n", stamp.c_str(), ev.value("pm_id", -1), ev.value("app", "").c_str(),
                highlighted(line, o).c_str());
  }
  std::fflush(stdout);
}

// The daemon's jlist as JSON on one line (indent -1) or indented by `indent` spaces a level.
int print_jlist(Cli& cli, int indent) {
  if (indent < 0) {  // as the daemon wrote it: 1,000 instances are megabytes to parse for nothing
    auto sent = cli.client->call_text(Verb::kJlist, manager::ListRequest{}, [](std::string_view s) {
      std::fwrite(s.data(), 1, s.size(), stdout);
    });
    if (!sent) return fail_with(sent.error());
    std::fputc('\n', stdout);
    return 0;
  }
  auto r = cli.client->call(Verb::kJlist, manager::ListRequest{});
  if (!r) return fail_with(r.error());
  std::printf("%s\n", r->dump(indent).c_str());
  return 0;
}

}  // namespace

int print_list(Cli& cli, const std::string& sort) {
  // Only what the table shows (jlist's "rows"): a tenth of the bytes to build, send and parse.
  auto list = cli.client->call(Verb::kJlist, manager::ListRequest{.rows = true});
  if (!list && list.error().code == manager::ErrorCode::kBadRequest) {
    // A daemon older than "rows" (this binary replaced, `herd update` not run yet) refuses the
    // field; the brief list renders the same table.
    list = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  }
  if (!list) return fail_with(list.error());
  FormatOptions o = format_options(cli);
  o.sort = sort;
  std::fputs(format_list(*list, o).c_str(), stdout);
  return 0;
}

// `ls [--sort name|id|namespace|pid|memory|cpu|status|uptime[:asc|:desc]] [-m]`: PM2's sort (an
// unknown field sorts by name, as PM2 does); -m/--mini-list, PM2's mini list in jlist order.
int cmd_list(Cli& cli) {
  std::string sort = "name";
  bool mini = false;
  for (std::size_t i = 0; i < cli.args.size(); ++i) {
    const std::string& a = cli.args[i];
    if (a == "-m" || a == "--mini-list") {
      mini = true;
    } else if (a == "--sort" && i + 1 < cli.args.size()) {
      sort = cli.args[++i];
    } else if (a.starts_with("--sort=")) {
      sort = a.substr(7);
    } else if (a == "--sort") {
      return fail_with(
          "--sort needs a field: name, id, namespace, pid, memory, cpu, status or "
          "uptime, with :asc or :desc");
    } else {
      return fail_with(fmt::format(
          "{}: unexpected argument '{}' (only --sort FIELD[:asc|:desc] and -m)", cli.name, a));
    }
  }
  if (!mini) return print_list(cli, sort);
  auto list = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  if (!list) return fail_with(list.error());
  std::fputs(format_mini_list(*list, format_options(cli)).c_str(), stdout);
  return 0;
}

// `id <name>`: the ids of the app's instances as PM2 prints them (util.inspect of an array, one
// line: "[ 0, 1 ]"). PM2 prints "[]" and exits 0 for a name it does not know; herd says so and
// exits 1, as for every unknown target.
int cmd_id(Cli& cli) {
  if (cli.args.size() != 1) return fail_with("usage: herd id <name>");
  auto list = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  if (!list) return fail_with(list.error());
  std::string ids;
  for (const auto& p : *list) {
    if (p.value("name", "") != cli.args[0]) continue;
    ids += fmt::format("{}{}", ids.empty() ? "" : ", ", p.value("pm_id", -1));
  }
  if (ids.empty()) return fail_with(fmt::format("no app named '{}'", cli.args[0]));
  std::printf("[ %s ]\n", ids.c_str());
  return 0;
}

// `pid [name]`: the pid of each instance of the app (of every app without a name), one a line,
// 0 for one that does not run, as PM2 prints them. An unknown name: PM2 prints an empty line
// and exits 0; herd says so and exits 1.
int cmd_pid(Cli& cli) {
  if (cli.args.size() > 1) return fail_with("usage: herd pid [name]");
  auto list = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  if (!list) return fail_with(list.error());
  std::string pids;
  for (const auto& p : *list) {
    if (!cli.args.empty() && p.value("name", "") != cli.args[0]) continue;
    pids += fmt::format("{}\n", p.value("pid", 0));
  }
  if (pids.empty() && !cli.args.empty()) {
    return fail_with(fmt::format("no app named '{}'", cli.args[0]));
  }
  std::fputs(pids.c_str(), stdout);
  return 0;
}

int cmd_jlist(Cli& cli) { return print_jlist(cli, -1); }

// PM2's prettylist prints the list with util.inspect, two spaces a level; herd keeps it JSON
// (still parsed by any tool), two spaces a level.
int cmd_prettylist(Cli& cli) { return print_jlist(cli, 2); }

int cmd_describe(Cli& cli) {
  if (cli.args.empty()) return fail_with("describe needs a target: an id, a name or a /regex/");
  auto r = cli.client->call(Verb::kDescribe, manager::TargetsRequest{cli.args});
  if (!r) return fail_with(r.error());
  for (const auto& p : *r) std::fputs(format_describe(p, format_options(cli)).c_str(), stdout);
  return 0;
}

int cmd_env(Cli& cli) {
  if (cli.args.size() != 1) return fail_with("env takes one id");
  auto r = cli.client->call(Verb::kDescribe, manager::TargetsRequest{cli.args});
  if (!r) return fail_with(r.error());
  if (r->size() != 1) {
    return fail_with("'" + cli.args[0] + "' matches several processes; give an id");
  }
  std::fputs(format_env((*r)[0]).c_str(), stdout);
  return 0;
}

int cmd_logs(Cli& cli) {
  auto o = parse_logs(cli.args);
  if (!o) return fail_with(o.error());
  o->color = cli.color;
  auto procs = cli.client->call(Verb::kDescribe, manager::TargetsRequest{o->targets});
  if (!procs) return fail_with(procs.error());
  // PM2: --nostream prints the last lines and ends (even with --json or --format); --json (which
  // wins over --format) or --format alone streams without the last lines first.
  if (o->format && o->json) o->format = false;
  if ((!o->json && !o->format) || !o->stream) print_tails(*procs, *o);
  if (!o->stream) return 0;
  auto s =
      cli.client->stream(Verb::kLogs, manager::TargetsRequest{o->targets}, [&](const json& ev) {
        if (ev.value("event", "") == "skipped") {
          std::fprintf(stderr,
                       "herd: %llu line(s) skipped: this output could not keep up with the apps "
                       "(the log files have every line)\n",
                       static_cast<unsigned long long>(ev.value("lines", 0ULL)));
          return true;
        }
        if (ev.value("event", "") != "log") return true;
        std::string stream_name = ev.value("stream", "");
        if ((stream_name == "out" && !o->out) || (stream_name == "err" && !o->err)) return true;
        print_live_line(ev, *o);
        return true;
      });
  if (!s) return fail_with(s.error());
  return 0;
}

int cmd_monit(Cli& cli) {
  if (!cli.args.empty()) return fail_with("monit takes no arguments");
  return run_monit(*cli.client);
}

int cmd_metrics(Cli& cli) {
  if (!cli.args.empty()) return fail_with("metrics takes no arguments");
  auto r = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  if (!r) return fail_with(r.error());
  std::fputs(manager::prometheus_text(*r, now_ms()).c_str(), stdout);
  return 0;
}

}  // namespace herd::cli
