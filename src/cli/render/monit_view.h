// MonitModel: what `herd monit` shows, without a terminal. It holds the process list (from the
// daemon's jlist), the selection, the selected app's recent log lines and a status message, and
// lays them out for a screen of a given size as lines of styled text. The ncurses driver
// (monit.h) only fetches data, forwards keys and paints these lines, so everything about what
// appears where is tested here, in unit tests, with no terminal.
//
// Screen layout (rows top to bottom):
//   title     "herd monit", a summary (apps, processes, online)
//   header    id, name, mode, pid, status, cpu, mem, restarts, uptime; then, when the daemon
//             reports them (pm2_env.diagnostics, docs/diagnostics.md), a sparkline of each
//             instance's recent memory ("memory") and a bar of its share of its app's connections
//             ("conn share", cluster mode)
//   rows      one per instance, by pm_id; at most about half the screen, scrolled so that the
//             selected row is visible; the selected row is marked `selected`
//   metrics   the selected instance's code metrics, one line, when its program reports them
//   rule      "logs: <app>" across the width
//   log       the newest log lines of the selected app that fit, oldest first
//   footer    the status message when there is one, else the keys
// Every line's display width is at most the screen's width. A screen smaller than
// kMinWidth x kMinHeight gets one line that says so.
//
// Strings from apps (names, log lines) are sanitized (table.h): no control character or escape
// sequence reaches the terminal. With `unicode` false (a terminal whose locale is not UTF-8),
// the output is plain ASCII: rules are drawn with '-', and non-ASCII characters become '?'.
//
// Not thread-safe; pure apart from its own state.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace herd::cli {

enum class MonitStyle {
  kNormal,
  kTitle,
  kHeader,
  kOnline,   // status online
  kPending,  // launching, stopping, waiting restart
  kError,    // errored; stderr lines; error messages
  kDim,      // stopped
  kRule,
};

struct MonitSpan {
  std::string text;
  MonitStyle style = MonitStyle::kNormal;
};

struct MonitLine {
  std::vector<MonitSpan> spans;
  bool selected = false;     // the selected process's row: painted in reverse video, full width
  std::string text() const;  // the spans' texts joined (for tests)
};

// One row of the process table, as read from a jlist element.
struct MonitProcess {
  int id = -1;
  std::string name;
  std::string mode;  // "cluster" or "fork"
  std::string status;
  pid_t pid = 0;
  double cpu = 0;
  std::uint64_t memory = 0;
  std::int64_t restarts = 0;
  std::int64_t uptime_ms = 0;  // 0 unless a process runs
  std::string marks;           // " leak?", " imbalance" (shown after an online status)
  std::vector<std::uint64_t> memory_history;  // the last samples, oldest first
  double connection_share = -1;               // 0..1; -1 when not reported
  std::string code_metrics;  // one line of its code metrics (format.h), "" without any
};

class MonitModel {
 public:
  static constexpr int kMinWidth = 40;
  static constexpr int kMinHeight = 8;
  static constexpr std::size_t kMaxLogLines = 1000;

  // Replaces the process list with `jlist`'s (an array; anything else is an empty list) as of
  // `now_ms` (wall clock, ms since the epoch, for uptimes). The selection stays on the same
  // pm_id when it still exists; otherwise on the same position, clamped to the list.
  void set_processes(const nlohmann::json& jlist, std::int64_t now_ms);
  const std::vector<MonitProcess>& processes() const { return processes_; }

  // Moves the selection by `delta` rows (negative: up), clamped to the list.
  void move_selection(int delta);
  // The selected process; nullptr when the list is empty.
  const MonitProcess* selected() const;
  // The pm_ids of every instance of the selected process's app, ascending; empty without one.
  std::vector<int> selected_app_ids() const;

  // A log line of instance `id` of `app` (stderr when `err`); the oldest lines go beyond
  // kMaxLogLines. The driver adds only lines of the selected app.
  void add_log_line(int id, std::string_view app, bool err, std::string_view line);
  void clear_log() { log_.clear(); }
  std::size_t log_size() const { return log_.size(); }

  // A status message for the footer (an error, say); "" clears it.
  void set_message(std::string message, bool error);

  // The screen, `height` lines (fewer when the screen is too small), each at most `width`
  // columns wide.
  std::vector<MonitLine> render(int width, int height, bool unicode) const;

 private:
  struct LogLine {
    int id;
    std::string app;
    bool err;
    std::string text;
  };
  MonitLine row_line(const MonitProcess& p, const std::vector<std::size_t>& widths,
                     bool unicode) const;
  // render()'s parts: the widths of the table's columns, and the rows (about half of what is
  // left, scrolled to keep the selection in view).
  std::vector<std::size_t> column_widths(int width, bool unicode) const;
  void render_rows(int width, int height, bool unicode, const std::vector<std::size_t>& widths,
                   std::vector<MonitLine>* lines) const;

  std::vector<MonitProcess> processes_;
  bool show_trend_ = false;  // some process has a memory history
  bool show_share_ = false;  // some process has a connection share
  std::size_t selected_ = 0;
  std::deque<LogLine> log_;
  std::string message_;
  bool message_error_ = false;
};

// `text` made to occupy exactly `columns` terminal columns: cut at a character boundary when
// longer (the last column then shows '~'), padded with spaces when shorter. With `unicode`
// false every non-ASCII character becomes '?'. `text` must already be sanitized.
std::string fit_columns(std::string_view text, std::size_t columns, bool unicode);

}  // namespace herd::cli
