// read_js: a JavaScript ecosystem file is a program, so node runs it and prints what it exports.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "app/command.h"
#include "app/ecosystem_reader.h"
#include "herd/base/fd.h"

extern char** environ;

namespace herd::manager::detail {
namespace {

using nlohmann::json;

constexpr auto kNodeTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxOutput = 16 << 20;
constexpr std::string_view kSentinel =
    "\n\x1e"
    "herd-ecosystem\x1e\n";

// Run with `node -e SCRIPT FILE`. console.log is sent to stderr so that a config that logs does
// not corrupt the JSON, and the JSON follows a sentinel in case something writes to stdout
// anyway. The module type is decided first, as node does (.mjs, .cjs, else the nearest
// package.json's "type"), so that nothing is caught and rethrown: an error then reaches node's own
// reporter, which points at the line in the user's file rather than at this script.
constexpr std::string_view kScript = R"JS(
const fs = require('fs'), path = require('path'), url = require('url');
const file = path.resolve(process.argv[1]);
for (const k of ['log', 'info', 'debug']) console[k] = console.error;
const emit = (m) => process.stdout.write('\n\x1eherd-ecosystem\x1e\n' +
    JSON.stringify(m === undefined ? null : m));
const isEsm = (f) => {
  if (f.endsWith('.mjs')) return true;
  if (f.endsWith('.cjs')) return false;
  for (let d = path.dirname(f);; d = path.dirname(d)) {
    const p = path.join(d, 'package.json');
    if (fs.existsSync(p)) {
      try { return JSON.parse(fs.readFileSync(p, 'utf8')).type === 'module'; } catch { return false; }
    }
    if (path.dirname(d) === d) return false;
  }
};
if (isEsm(file)) {
  import(url.pathToFileURL(file).href)
      .then((ns) => emit(ns.default !== undefined ? ns.default : Object.assign({}, ns)));
} else {
  Promise.resolve(require(file)).then(emit);
}
)JS";

struct Output {
  std::string out;
  std::string err;
  int status = 0;
  bool timed_out = false;
};

// Reads both pipes to their end (or the deadline), so that a child writing much to one of them
// never blocks on a full pipe while herd waits on the other.
void drain(Fd out, Fd err, Output* result) {
  auto deadline = std::chrono::steady_clock::now() + kNodeTimeout;
  Fd* fds[2] = {&out, &err};
  std::string* bufs[2] = {&result->out, &result->err};
  while (out.valid() || err.valid()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result->timed_out = true;
      return;
    }
    pollfd pfds[2];
    for (int i = 0; i < 2; ++i) pfds[i] = pollfd{fds[i]->get(), POLLIN, 0};
    int n = ::poll(pfds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < 2; ++i) {
      if (pfds[i].fd < 0 || pfds[i].revents == 0) continue;
      char buf[65536];
      ssize_t got = ::read(pfds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0 || bufs[i]->size() > kMaxOutput) {
        fds[i]->reset();
      } else {
        bufs[i]->append(buf, static_cast<std::size_t>(got));
      }
    }
  }
}

Result<Output> run_node(const std::string& node, const std::string& file,
                        const std::map<std::string, std::string>& env) {
  auto out = Fd::pipe();
  if (!out) return std::unexpected(out.error());
  auto err = Fd::pipe();
  if (!err) return std::unexpected(err.error());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // dup2 clears FD_CLOEXEC on the target; every other descriptor herd owns is CLOEXEC already.
  posix_spawn_file_actions_adddup2(&actions, out->second.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err->second.get(), 2);
  // The CLI or a daemon thread may block signals or ignore SIGPIPE; node gets the defaults.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::string script(kScript);
  std::vector<char*> argv = {const_cast<char*>(node.c_str()), const_cast<char*>("-e"),
                             script.data(), const_cast<char*>(file.c_str()), nullptr};
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, node.c_str(), &actions, &attr, argv.data(),
                         env.empty() ? environ : envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return fail_errno(fmt::format("run {}", node));
  }
  out->second.reset();
  err->second.reset();

  Output result;
  drain(std::move(out->first), std::move(err->first), &result);
  if (result.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = status;
  return result;
}

// node's report of an uncaught error, for people: the stack frames inside node and herd's loader
// script go (those in the user's file stay), as do the "Node.js v20..." line and blank ends.
std::string tidy_report(const std::string& report, const std::string& file) {
  std::string text;
  std::size_t start = 0;
  while (start < report.size()) {
    std::size_t end = report.find('\n', start);
    if (end == std::string::npos) end = report.size();
    std::string_view line(report.data() + start, end - start);
    bool frame = line.find_first_not_of(' ') != std::string_view::npos &&
                 line.substr(line.find_first_not_of(' ')).starts_with("at ");
    if (!line.starts_with("Node.js v") && (!frame || line.find(file) != std::string_view::npos)) {
      text.append(line).push_back('\n');
    }
    start = end + 1;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::size_t first = text.find_first_not_of('\n');
  text.erase(0, first == std::string::npos ? text.size() : first);
  if (text.size() > 4000) text = text.substr(0, 4000) + "\n...";
  return text;
}

}  // namespace

Result<SourceDoc> read_js(const std::string& path, std::string_view name,
                          const std::map<std::string, std::string>& env) {
  std::string path_list;
  if (auto it = env.find("PATH"); it != env.end()) {
    path_list = it->second;
  } else if (const char* p = std::getenv("PATH")) {
    path_list = p;
  }
  std::optional<std::string> node = find_in_path("node", path_list);
  if (!node) {
    return fail(ENOENT, fmt::format("{} is JavaScript and needs node (not found in PATH); "
                                    "write the apps as JSON or YAML instead",
                                    name));
  }
  std::error_code ec;
  std::string file = std::filesystem::absolute(path, ec).string();
  auto run = run_node(*node, file, env);
  if (!run) return std::unexpected(run.error());
  if (run->timed_out) {
    return fail(ETIMEDOUT, fmt::format("{}: node did not finish evaluating it within {} s", name,
                                       kNodeTimeout.count()));
  }
  if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != 0) {
    return fail(EINVAL, fmt::format("{}: node could not evaluate it:\n{}", name,
                                    tidy_report(run->err, file)));
  }
  std::size_t at = run->out.rfind(kSentinel);
  if (at == std::string::npos) {
    return fail(EINVAL, fmt::format("{}: node printed no exports", name));
  }
  SourceDoc doc;
  std::size_t deepest = 0;
  doc.root = json::parse(
      run->out.substr(at + kSentinel.size()),
      [&deepest](int depth, json::parse_event_t, json&) {
        deepest = std::max(deepest, static_cast<std::size_t>(depth));
        return true;
      },
      false);
  if (doc.root.is_discarded()) {
    return fail(EINVAL, fmt::format("{}: node printed exports that are not JSON", name));
  }
  // The same bound as for JSON and YAML files (ecosystem_reader.h).
  if (deepest > kMaxEcosystemDepth) {
    return fail(EINVAL, fmt::format("{}: the exports are nested deeper than {} levels", name,
                                    kMaxEcosystemDepth));
  }
  return doc;
}

}  // namespace herd::manager::detail
