#include "daemon/app_triggers.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "daemon/app.h"
#include "daemon/home.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string local_time(std::time_t t) {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
  return std::string(buf, n);
}

// A wait is armed for at most this long, then the wall clock is read again.
constexpr std::int64_t kMaxCronWaitMs = 60'000;

}  // namespace

AppTriggers::AppTriggers(EventLoop& loop, const Home& home, App& app, Restart restart)
    : loop_(loop),
      home_(home),
      app_(app),
      restart_(std::move(restart)),
      cron_timer_(loop),
      debounce_(loop) {
  // Triggers never keep the daemon's loop alive by themselves.
  cron_timer_.unref();
  debounce_.unref();
}

AppTriggers::~AppTriggers() {
  cron_timer_.stop();
  debounce_.stop();
}

Status AppTriggers::arm() {
  Status cron = arm_cron();
  Status watch = arm_watch();
  return cron ? watch : cron;
}

bool AppTriggers::all_stopped() const {
  return std::all_of(app_.instances.begin(), app_.instances.end(),
                     [](const auto& i) { return i->status() == InstanceStatus::kStopped; });
}

// --- cron_restart ------------------------------------------------------------------------------

Status AppTriggers::arm_cron() {
  cron_timer_.stop();
  cron_.reset();
  next_cron_.reset();
  auto parsed = parse_cron_restart(app_.spec.cron_restart);
  if (!parsed) {
    // The spec parsers refuse a bad expression, so this is a spec from an older dump.json.
    log_error("app {}: cron_restart ignored: {}", app_.name, parsed.error().message());
    return std::unexpected(parsed.error());
  }
  if (!*parsed) return {};
  cron_ = std::move(**parsed);
  schedule_cron(std::time(nullptr));
  if (!next_cron_) {
    return fail(EINVAL, fmt::format("cron_restart \"{}\" never fires", cron_->expression()));
  }
  log_info("app {}: cron_restart \"{}\": next restart at {}", app_.name, cron_->expression(),
           local_time(*next_cron_));
  return {};
}

void AppTriggers::schedule_cron(std::time_t after) {
  next_cron_ = cron_->next_after(after);
  if (!next_cron_) {
    cron_timer_.stop();
    log_warn("app {}: cron_restart \"{}\" does not fire again", app_.name, cron_->expression());
    return;
  }
  arm_cron_timer();
}

void AppTriggers::arm_cron_timer() {
  std::int64_t due = *next_cron_ * 1000 - wall_ms();
  due = std::clamp<std::int64_t>(due, 0, kMaxCronWaitMs);
  cron_timer_.start([this] { on_cron_timer(); }, static_cast<std::uint64_t>(due));
}

void AppTriggers::on_cron_timer() {
  if (!next_cron_) return;
  std::int64_t now = wall_ms();
  if (now < *next_cron_ * 1000) {
    // Armed for at most a minute, or the loop's clock ran ahead of the wall clock: not yet.
    arm_cron_timer();
    return;
  }
  std::time_t fired = *next_cron_;
  if (all_stopped()) {
    log_info("app {}: cron_restart \"{}\" fired at {}; the app is stopped, so it stays stopped",
             app_.name, cron_->expression(), local_time(fired));
  } else {
    restart_(app_.name, fmt::format("cron_restart \"{}\" fired at {}", cron_->expression(),
                                    local_time(fired)));
  }
  schedule_cron(std::max<std::time_t>(fired, static_cast<std::time_t>(now / 1000)));
}

// --- watch -------------------------------------------------------------------------------------

std::vector<std::string> AppTriggers::watch_roots() const {
  namespace fs = std::filesystem;
  const std::string& cwd = app_.spec.cwd;
  if (app_.spec.watch_paths.empty()) return {cwd};
  std::vector<std::string> roots;
  for (const std::string& p : app_.spec.watch_paths) {
    fs::path path = fs::path(p).is_absolute() ? fs::path(p) : fs::path(cwd) / p;
    std::string s = path.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    roots.push_back(s);
  }
  return roots;
}

Status AppTriggers::arm_watch() {
  watch_.reset();
  debounce_.stop();
  changes_ = 0;
  if (!app_.spec.watch) return {};
  if (app_.spec.cwd.empty()) {
    // The daemon's own directory means nothing to the user (and may be /): refuse.
    log_error("app {}: not watching: the app has no cwd to watch from", app_.name);
    return fail(EINVAL, "watch: the app has no cwd");
  }
  std::vector<std::string> roots = watch_roots();
  auto filter = WatchFilter::create(app_.spec.ignore_watch, app_.spec.cwd);
  if (!filter) {
    log_error("app {}: not watching: ignore_watch: {}", app_.name, filter.error().message());
    return std::unexpected(filter.error());
  }
  // Herd's own files: a log line must not restart the app that wrote it. (Only what herd
  // writes: an app may well live in a directory under HERD_HOME.)
  const Home& home = home_;
  for (const std::string& p : {home.logs_dir() + "/", home.pids_dir() + "/", home.dir + "/herd.",
                               home.dump(), home.notify_socket()}) {
    filter->ignore_prefix(p);
  }
  // Custom log files, with the "-<id>" herd inserts before the extension for some instance
  // counts (so scaling later does not matter), and their rotations.
  for (const std::string* custom :
       {&app_.spec.out_file, &app_.spec.error_file, &app_.spec.log_file}) {
    if (custom->empty() || *custom == "/dev/null") continue;
    std::size_t dot = custom->rfind('.');
    std::size_t slash = custom->rfind('/');
    bool ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
    filter->ignore_prefix(*custom);
    filter->ignore_prefix((ext ? custom->substr(0, dot) : *custom) + "-");
  }
  for (const auto& i : app_.instances) {
    filter->ignore_prefix(i->out_log_path());
    filter->ignore_prefix(i->err_log_path());
  }
  filter->only_extensions(app_.spec.watch_ext);
  watch_ = std::make_unique<FileWatch>(loop_, std::move(*filter),
                                       [this](const std::string& what) { on_change(what); });
  if (Status s = watch_->start(roots); !s) {
    log_error("app {}: not watching: {}", app_.name, s.error().message());
    watch_.reset();
    return s;
  }
  std::string list;
  for (const auto& r : roots) list += (list.empty() ? "" : ", ") + r;
  log_info("app {}: watching {} ({} directories, restart {} ms after the last change)", app_.name,
           list, watch_->directories(), app_.spec.watch_delay_ms);
  return {};
}

void AppTriggers::on_change(const std::string& what) {
  if (all_stopped()) return;
  std::uint64_t now = loop_.now();
  if (changes_ == 0) {
    first_change_ = what;
    first_change_at_ = now;
  }
  ++changes_;
  std::uint64_t delay = app_.spec.watch_delay_ms;
  std::uint64_t latest =
      first_change_at_ + std::max<std::uint64_t>(delay * kMaxDebounceFactor, 1000);
  std::uint64_t due = std::min(now + delay, std::max(latest, now));
  debounce_.start([this] { on_debounce(); }, due - now);
}

void AppTriggers::on_debounce() {
  std::size_t n = changes_;
  changes_ = 0;
  if (n == 0 || all_stopped()) return;
  // A path, or a sentence (an overflow of the kernel's queue).
  std::string reason = first_change_.starts_with('/')
                           ? fmt::format("watch: {} changed", first_change_)
                           : fmt::format("watch: {}", first_change_);
  if (n > 1) reason += fmt::format(" (and {} more change{})", n - 1, n > 2 ? "s" : "");
  restart_(app_.name, std::move(reason));
}

void AppTriggers::describe(nlohmann::json* pm2_env) const {
  if (!app_.spec.cron_restart.empty()) {
    (*pm2_env)["next_cron_restart"] =
        next_cron_ ? nlohmann::json(static_cast<std::int64_t>(*next_cron_) * 1000)
                   : nlohmann::json(nullptr);
  }
  if (app_.spec.watch) {
    (*pm2_env)["watching"] = watch_ != nullptr;
  }
}

}  // namespace herd::manager
