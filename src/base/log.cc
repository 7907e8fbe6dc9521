#include "herd/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

namespace herd {
namespace {

LogLevel initial_level() {
  LogLevel level = LogLevel::kInfo;
  if (const char* env = std::getenv("HERD_LOG_LEVEL"); env != nullptr && *env != '\0') {
    if (!parse_log_level(env, &level)) {
      // Say so once, at the default level: a silently ignored setting is worse than noise.
      std::string line = fmt::format(
          "herd[{}] warn: HERD_LOG_LEVEL={} is not one of debug, info, "
          "warn, error, off; using info\n",
          ::getpid(), env);
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
      level = LogLevel::kInfo;
    }
  }
  return level;
}

std::atomic<LogLevel>& level_ref() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      break;
  }
  return "fatal";
}

// The sink, if any. `set` lets log_line skip the lock when there is none (the usual case).
struct Sink {
  std::mutex mu;
  LogSink fn;
  std::atomic<bool> set{false};
};
Sink& sink_ref() {
  static Sink* sink = new Sink;  // never destroyed: threads may log during static destruction
  return *sink;
}

}  // namespace

void set_log_sink(LogSink sink) {
  Sink& s = sink_ref();
  std::lock_guard lock(s.mu);
  s.fn = std::move(sink);
  s.set.store(static_cast<bool>(s.fn), std::memory_order_release);
}

void set_log_level(LogLevel level) { level_ref().store(level, std::memory_order_relaxed); }
LogLevel log_level() { return level_ref().load(std::memory_order_relaxed); }

bool parse_log_level(std::string_view text, LogLevel* out) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {{"debug", LogLevel::kDebug},
                                                                     {"info", LogLevel::kInfo},
                                                                     {"warn", LogLevel::kWarn},
                                                                     {"error", LogLevel::kError},
                                                                     {"off", LogLevel::kOff}};
  for (const auto& [name, level] : kNames) {
    if (text == name) {
      *out = level;
      return true;
    }
  }
  return false;
}

namespace detail {
void log_line(LogLevel level, std::string_view message) {
  std::string line = fmt::format("herd[{}] {}: {}\n", ::getpid(), level_name(level), message);
  Sink& sink = sink_ref();
  if (sink.set.load(std::memory_order_acquire)) {
    std::lock_guard lock(sink.mu);
    if (sink.fn) {
      sink.fn(line);
      return;
    }
  }
  // One write per line keeps lines whole when several threads log at once.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}
}  // namespace detail

void fatal(std::string_view message) {
  detail::log_line(LogLevel::kOff, message);
  std::abort();
}

}  // namespace herd
