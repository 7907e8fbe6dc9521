// Logging through fmt. Lines go to stderr (or a sink, below) as "herd[<pid>] <level>: <message>";
// the threshold comes from HERD_LOG_LEVEL (debug, info, warn, error; default info) or
// set_log_level(). Thread-safe: each line is written with one write(2) (or one sink call), so
// lines from several threads never interleave.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string_view>

namespace herd {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error", "off"; false when `text` is none of them.
bool parse_log_level(std::string_view text, LogLevel* out);

// Where lines go instead of stderr: `sink` gets each whole line, newline included, one call per
// line, never two calls at once (calls are serialized by a lock, so it need not be thread-safe
// itself; it must not log). An empty function restores stderr. The daemon sends its lines to its
// rotating herd.log this way (manager/daemon_log.h).
using LogSink = std::function<void(std::string_view line)>;
void set_log_sink(LogSink sink);

namespace detail {
void log_line(LogLevel level, std::string_view message);
}  // namespace detail

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < log_level()) return;
  detail::log_line(level, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) {
  log(LogLevel::kDebug, format, std::forward<Args>(args)...);
}
template <class... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  log(LogLevel::kInfo, format, std::forward<Args>(args)...);
}
template <class... Args>
void log_warn(fmt::format_string<Args...> format, Args&&... args) {
  log(LogLevel::kWarn, format, std::forward<Args>(args)...);
}
template <class... Args>
void log_error(fmt::format_string<Args...> format, Args&&... args) {
  log(LogLevel::kError, format, std::forward<Args>(args)...);
}

// Logs "fatal: <message>" and aborts. For broken invariants only, never for bad input.
[[noreturn]] void fatal(std::string_view message);

}  // namespace herd

// Checks an invariant that costs too much to test in release builds (thread affinity, say).
// Active when HERD_DEBUG_CHECKS is defined (the sanitizer build defines it).
#ifdef HERD_DEBUG_CHECKS
#define HERD_DCHECK(cond, msg)       \
  do {                               \
    if (!(cond)) ::herd::fatal(msg); \
  } while (0)
#else
#define HERD_DCHECK(cond, msg) \
  do {                         \
  } while (0)
#endif
