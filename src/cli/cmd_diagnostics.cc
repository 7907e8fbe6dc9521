// `herd heapdump <target> [file]` and `herd profile <target> --cpu <duration> [file]`
// (docs/diagnostics.md): a Node app's instance writes a heap snapshot or a CPU profile, which
// Chrome DevTools opens. The file is named here (a relative path is this command's directory's;
// none: <app>-<id>-<time>.heapsnapshot|.cpuprofile in it), checked by the daemon, and written by
// the app's process.
#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <ctime>

#include "app/app_spec.h"
#include "cli/commands.h"
#include "cli/render/format.h"

namespace herd::cli {
namespace {

using manager::Verb;
using nlohmann::json;

// The absolute form of `path` against this process's directory.
std::expected<std::string, std::string> absolute(const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
    return std::unexpected("cannot read the current directory; give an absolute path");
  }
  return fmt::format("{}/{}", cwd, path);
}

// <app>-<id>-<YYYYmmdd-HHMMSS><ext>, with characters other than letters, digits, '.', '-' and '_'
// of the app's name as '_'.
std::string default_name(const json& instance, const char* ext) {
  std::string name = instance.value("name", std::string("app"));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
  return fmt::format("{}-{}-{}{}", name, instance.value("pm_id", 0), when, ext);
}

// Runs one diagnostic verb: `target` must be one process.
int run(Cli& cli, Verb verb, const std::string& target, std::string file,
        std::int64_t duration_ms) {
  const bool heap = verb == Verb::kHeapdump;
  auto procs = cli.client->call(Verb::kDescribe, manager::TargetsRequest{{target}});
  if (!procs) return fail_with(procs.error());
  if (!procs->is_array() || procs->size() != 1) {
    return fail_with(fmt::format("'{}' matches {} processes; {} takes one id", target,
                                 procs->is_array() ? procs->size() : 0,
                                 heap ? "heapdump" : "profile"));
  }
  if (file.empty()) file = default_name((*procs)[0], heap ? ".heapsnapshot" : ".cpuprofile");
  auto path = absolute(file);
  if (!path) return fail_with(path.error());
  if (!heap) {
    std::fprintf(stderr, "herd: profiling '%s' for %s ...\n", target.c_str(),
                 format_uptime(duration_ms).c_str());
  }
  auto r = cli.client->call(verb, manager::DiagnosticRequest{target, *path, duration_ms});
  if (!r) return fail_with(r.error());
  std::printf("%s of %s (id %d) written to %s (%s); open it in Chrome DevTools (%s)\n",
              heap ? "Heap snapshot" : "CPU profile", r->value("name", target).c_str(),
              r->value("pm_id", -1), r->value("file", *path).c_str(),
              format_memory(r->value("bytes", std::uint64_t{0})).c_str(),
              heap ? "Memory tab, Load" : "Performance tab, Load profile");
  return 0;
}

}  // namespace

int cmd_heapdump(Cli& cli) {
  if (cli.args.empty() || cli.args.size() > 2)
    return fail_with("usage: herd heapdump <target> [file]");
  return run(cli, Verb::kHeapdump, cli.args[0], cli.args.size() == 2 ? cli.args[1] : "", 0);
}

int cmd_profile(Cli& cli) {
  std::vector<std::string> words;
  std::string duration;
  for (std::size_t i = 0; i < cli.args.size(); ++i) {
    const std::string& a = cli.args[i];
    if (a == "--cpu") {
      if (i + 1 == cli.args.size()) return fail_with("--cpu needs a duration, e.g. --cpu 10s");
      duration = cli.args[++i];
    } else if (a.starts_with("--cpu=")) {
      duration = a.substr(6);
    } else if (a.starts_with("--")) {
      return fail_with(fmt::format("profile: unknown flag {}", a));
    } else {
      words.push_back(a);
    }
  }
  if (words.empty() || words.size() > 2 || duration.empty()) {
    return fail_with("usage: herd profile <target> --cpu <duration> [file]   (e.g. --cpu 10s)");
  }
  // A unit is required: "--cpu 10" could mean seconds or milliseconds.
  if (duration.find_first_not_of("0123456789") == std::string::npos) {
    return fail_with(
        fmt::format("--cpu {}: give a unit, e.g. {}s or {}ms", duration, duration, duration));
  }
  auto ms = manager::parse_duration_ms(duration);
  if (!ms || *ms == 0 || *ms > static_cast<std::uint64_t>(manager::kMaxProfileMs)) {
    return fail_with(fmt::format("--cpu {}: expected a duration from 1ms to {} min, e.g. 10s",
                                 duration, manager::kMaxProfileMs / 60000));
  }
  return run(cli, Verb::kProfile, words[0], words.size() == 2 ? words[1] : "",
             static_cast<std::int64_t>(*ms));
}

}  // namespace herd::cli
