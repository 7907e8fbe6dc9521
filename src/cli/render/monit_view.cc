#include "cli/render/monit_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/render/format.h"
#include "cli/render/format_diagnostics.h"
#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

// The byte length of the UTF-8 character starting at s[i] (s is valid UTF-8: sanitized).
std::size_t char_length(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  return std::min(n, s.size() - i);
}

template <class T>
T number_or(const json& obj, const char* key, T fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return fallback;
  return it->get<T>();
}

std::string string_or(const json& obj, const char* key, const char* fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

MonitStyle status_style(const std::string& status) {
  if (status == "online") return MonitStyle::kOnline;
  if (status == "errored") return MonitStyle::kError;
  if (status == "stopped") return MonitStyle::kDim;
  return MonitStyle::kPending;
}

// Column widths of the process table, name last so it can shrink.
enum Column { kId, kMode, kPid, kStatus, kCpu, kMem, kRestarts, kUptime, kName, kColumns };
constexpr std::size_t kGap = 2;
// The diagnostics columns, after uptime: a memory sparkline, a share bar and its percentage.
constexpr std::size_t kTrendWidth = 12;
constexpr std::size_t kBarWidth = 8;
constexpr std::size_t kShareWidth = kBarWidth + 5;  // "████░░░░ 100%"

// One line from spans, cut to `width` columns.
MonitLine clip(std::vector<MonitSpan> spans, int width, bool unicode) {
  MonitLine line;
  std::size_t left = static_cast<std::size_t>(std::max(width, 0));
  for (auto& s : spans) {
    if (left == 0) break;
    std::size_t w = display_width(s.text);
    if (w > left) {
      s.text = fit_columns(s.text, left, unicode);
      w = left;
    } else if (!unicode) {
      s.text = fit_columns(s.text, w, false);
    }
    left -= w;
    line.spans.push_back(std::move(s));
  }
  return line;
}

std::string rule_text(std::string_view label, int width, bool unicode) {
  std::string dash = unicode ? "\u2500" : "-";
  std::string out = dash + dash + " " + std::string(label) + " ";
  std::size_t w = display_width(out);
  for (std::size_t i = w; i < static_cast<std::size_t>(std::max(width, 0)); ++i) out += dash;
  return out;
}

const char* column_title(int column, bool unicode) {
  static const char* const kTitles[kColumns] = {"id",  "mode", "pid",    "status", "cpu",
                                                "mem", "rst",  "uptime", "name"};
  if (column == kRestarts && unicode) return "\u21ba";
  return kTitles[column];
}

// The table's header line: id, name, then the other columns in the rows' order.
std::string header_text(const std::vector<std::size_t>& widths, bool unicode) {
  std::string gap(kGap, ' ');
  std::string header = " " + fit_columns(column_title(kId, unicode), widths[kId], unicode) + gap +
                       fit_columns(column_title(kName, unicode), widths[kName], unicode) + gap;
  for (int c : {kMode, kPid, kStatus, kCpu, kMem, kRestarts}) {
    header += fit_columns(column_title(c, unicode), widths[c], unicode) + gap;
  }
  return header + fit_columns(column_title(kUptime, unicode), widths[kUptime], unicode);
}

// The diagnostics of a jlist element (pm2_env.diagnostics) into its row; anything missing or
// oddly typed leaves the row's defaults.
void read_diagnostics(const json& p, MonitProcess* row) {
  row->marks = diagnostic_marks(p);
  const json* env = p.contains("pm2_env") ? &p["pm2_env"] : nullptr;
  if (env == nullptr || !env->is_object() || !env->contains("diagnostics")) return;
  const json& d = (*env)["diagnostics"];
  if (!d.is_object()) return;
  if (auto m = d.find("memory"); m != d.end() && m->is_object()) {
    if (auto h = m->find("history"); h != m->end() && h->is_array()) {
      for (const auto& v : *h) {
        if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
          row->memory_history.push_back(v.get<std::uint64_t>());
        }
      }
    }
  }
  if (auto l = d.find("load"); l != d.end() && l->is_object()) {
    if (auto s = l->find("connection_share"); s != l->end() && s->is_number()) {
      row->connection_share = std::clamp(s->get<double>(), 0.0, 1.0);
    }
  }
}

}  // namespace

std::string MonitLine::text() const {
  std::string out;
  for (const auto& s : spans) out += s.text;
  return out;
}

std::string fit_columns(std::string_view text, std::size_t columns, bool unicode) {
  std::string out;
  std::size_t used = 0;
  bool cut = false;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = char_length(text, i);
    std::string_view ch = text.substr(i, n);
    std::string ascii;
    if (!unicode && n > 1) {
      ascii = "?";
      ch = ascii;
    }
    std::size_t w = display_width(ch);
    if (used + w > columns) {
      cut = true;
      break;
    }
    out.append(ch);
    used += w;
    i += n;
  }
  if (cut && columns > 0) {
    // Make room for the marker: drop characters until one column is free.
    while (used + 1 > columns && !out.empty()) {
      std::size_t start = out.size() - 1;
      while (start > 0 && (static_cast<unsigned char>(out[start]) & 0xC0) == 0x80) --start;
      used -= display_width(std::string_view(out).substr(start));
      out.erase(start);
    }
    out += unicode ? "\u2026" : "~";
    used += 1;
  }
  out.append(columns > used ? columns - used : 0, ' ');
  return out;
}

void MonitModel::set_processes(const json& jlist, std::int64_t now_ms) {
  int selected_id = selected() != nullptr ? selected()->id : -1;
  processes_.clear();
  show_trend_ = show_share_ = false;
  if (jlist.is_array()) {
    for (const auto& p : jlist) {
      if (!p.is_object()) continue;
      const json& env = p.contains("pm2_env") ? p["pm2_env"] : json();
      const json& monit = p.contains("monit") ? p["monit"] : json();
      MonitProcess row;
      row.id = number_or<int>(p, "pm_id", -1);
      row.name = sanitize(string_or(p, "name", "?"));
      row.mode = string_or(env, "exec_mode", "") == "cluster_mode" ? "cluster" : "fork";
      row.status = sanitize(string_or(env, "status", "?"));
      row.pid = number_or<pid_t>(p, "pid", 0);
      row.cpu = number_or<double>(monit, "cpu", 0);
      row.memory = number_or<std::uint64_t>(monit, "memory", 0);
      row.restarts = number_or<std::int64_t>(env, "restart_time", 0);
      auto started = number_or<std::int64_t>(env, "pm_uptime", 0);
      if (row.pid > 0 && started > 0 && now_ms > started) row.uptime_ms = now_ms - started;
      read_diagnostics(p, &row);
      row.code_metrics = sanitize(code_metrics_summary(p));
      processes_.push_back(std::move(row));
    }
  }
  std::stable_sort(processes_.begin(), processes_.end(),
                   [](const MonitProcess& a, const MonitProcess& b) { return a.id < b.id; });
  for (const auto& p : processes_) {
    show_trend_ = show_trend_ || p.memory_history.size() >= 2;
    show_share_ = show_share_ || p.connection_share >= 0;
  }
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    if (processes_[i].id == selected_id) {
      selected_ = i;
      return;
    }
  }
  if (!processes_.empty()) selected_ = std::min(selected_, processes_.size() - 1);
}

void MonitModel::move_selection(int delta) {
  if (processes_.empty()) return;
  long target = static_cast<long>(selected_) + delta;
  target = std::clamp(target, 0L, static_cast<long>(processes_.size()) - 1);
  selected_ = static_cast<std::size_t>(target);
}

const MonitProcess* MonitModel::selected() const {
  return selected_ < processes_.size() ? &processes_[selected_] : nullptr;
}

std::vector<int> MonitModel::selected_app_ids() const {
  std::vector<int> ids;
  const MonitProcess* s = selected();
  if (s == nullptr) return ids;
  for (const auto& p : processes_) {
    if (p.name == s->name) ids.push_back(p.id);
  }
  return ids;
}

void MonitModel::add_log_line(int id, std::string_view app, bool err, std::string_view line) {
  log_.push_back(LogLine{id, sanitize(app), err, sanitize(line)});
  while (log_.size() > kMaxLogLines) log_.pop_front();
}

void MonitModel::set_message(std::string message, bool error) {
  message_ = sanitize(message);
  message_error_ = error;
}

MonitLine MonitModel::row_line(const MonitProcess& p, const std::vector<std::size_t>& widths,
                               bool unicode) const {
  bool running = p.pid > 0;
  std::string cells[kColumns];
  cells[kId] = std::to_string(p.id);
  cells[kName] = p.name;
  cells[kMode] = p.mode;
  cells[kPid] = running ? std::to_string(p.pid) : "-";
  cells[kStatus] = p.status == "online" ? p.status + p.marks : p.status;
  cells[kCpu] = running ? format_cpu(p.cpu) : "0%";
  cells[kMem] = running ? format_memory(p.memory) : "0b";
  cells[kRestarts] = std::to_string(p.restarts);
  cells[kUptime] = running ? format_uptime(p.uptime_ms) : "0";
  std::vector<MonitSpan> spans;
  std::string gap(kGap, ' ');
  spans.push_back({" " + fit_columns(cells[kId], widths[kId], unicode) + gap});
  spans.push_back({fit_columns(cells[kName], widths[kName], unicode) + gap});
  spans.push_back({fit_columns(cells[kMode], widths[kMode], unicode) + gap});
  spans.push_back({fit_columns(cells[kPid], widths[kPid], unicode) + gap});
  spans.push_back(
      {fit_columns(cells[kStatus], widths[kStatus], unicode) + gap, status_style(p.status)});
  spans.push_back({fit_columns(cells[kCpu], widths[kCpu], unicode) + gap});
  spans.push_back({fit_columns(cells[kMem], widths[kMem], unicode) + gap});
  spans.push_back({fit_columns(cells[kRestarts], widths[kRestarts], unicode) + gap});
  spans.push_back({fit_columns(cells[kUptime], widths[kUptime], unicode)});
  if (show_trend_) {
    spans.push_back({gap + fit_columns(sparkline(p.memory_history, kTrendWidth, unicode),
                                       kTrendWidth, unicode)});
  }
  if (show_share_) {
    std::string share;
    if (p.connection_share >= 0) {
      share = fmt::format("{} {}%", share_bar(p.connection_share, kBarWidth, unicode),
                          std::lround(p.connection_share * 100));
    }
    spans.push_back({gap + fit_columns(share, kShareWidth, unicode)});
  }
  return MonitLine{std::move(spans), false};
}

std::vector<std::size_t> MonitModel::column_widths(int width, bool unicode) const {
  // Column widths fit the content, the name takes what is left (4..24).
  std::vector<std::size_t> widths(kColumns);
  for (int c = 0; c < kColumns; ++c) widths[c] = display_width(column_title(c, unicode));
  widths[kMode] = std::max<std::size_t>(widths[kMode], 7);
  widths[kStatus] = std::max<std::size_t>(widths[kStatus], 15);  // "waiting restart"
  for (const auto& p : processes_) {
    if (p.status == "online") widths[kStatus] = std::max(widths[kStatus], 6 + p.marks.size());
  }
  widths[kCpu] = std::max<std::size_t>(widths[kCpu], 5);
  widths[kMem] = std::max<std::size_t>(widths[kMem], 8);
  widths[kUptime] = std::max<std::size_t>(widths[kUptime], 6);
  std::size_t longest_name = 4;
  for (const auto& p : processes_) {
    widths[kId] = std::max(widths[kId], std::to_string(p.id).size());
    widths[kPid] = std::max(widths[kPid], std::to_string(p.pid).size());
    widths[kRestarts] = std::max(widths[kRestarts], std::to_string(p.restarts).size());
    longest_name = std::max(longest_name, display_width(p.name));
  }
  std::size_t fixed = 1;  // the leading space
  if (show_trend_) fixed += kGap + kTrendWidth;
  if (show_share_) fixed += kGap + kShareWidth;
  for (int c = 0; c < kColumns; ++c) {
    if (c != kName) fixed += widths[c] + kGap;
  }
  std::size_t room = static_cast<std::size_t>(width) > fixed + kGap
                         ? static_cast<std::size_t>(width) - fixed - kGap
                         : 4;
  widths[kName] = std::clamp<std::size_t>(std::min<std::size_t>(longest_name, 24), 4,
                                          std::max<std::size_t>(room, 4));
  return widths;
}

void MonitModel::render_rows(int width, int height, bool unicode,
                             const std::vector<std::size_t>& widths,
                             std::vector<MonitLine>* lines) const {
  // Rows: about half of what is left, scrolled to keep the selection in view.
  int available = height - 4;  // title, header, rule, footer
  int rows = processes_.empty() ? 1 : static_cast<int>(processes_.size());
  int list_height = std::clamp(rows, 1, std::max(1, available / 2));
  if (processes_.empty()) {
    lines->push_back(clip({{" no process: start one with `herd start <script>`", MonitStyle::kDim}},
                          width, unicode));
  } else {
    int count = static_cast<int>(processes_.size());
    int top = static_cast<int>(selected_) - list_height / 2;
    top = std::clamp(top, 0, std::max(0, count - list_height));
    for (int i = top; i < top + list_height && i < count; ++i) {
      MonitLine line = row_line(processes_[static_cast<std::size_t>(i)], widths, unicode);
      line = clip(std::move(line.spans), width, unicode);
      line.selected = static_cast<std::size_t>(i) == selected_;
      lines->push_back(std::move(line));
    }
  }
}

std::vector<MonitLine> MonitModel::render(int width, int height, bool unicode) const {
  std::vector<MonitLine> lines;
  if (width < kMinWidth || height < kMinHeight) {
    if (width > 0 && height > 0) {
      lines.push_back(clip({{fmt::format("terminal too small ({}x{}); herd monit needs {}x{}",
                                         width, height, kMinWidth, kMinHeight),
                             MonitStyle::kError}},
                           width, unicode));
    }
    return lines;
  }

  // Title.
  std::set<std::string> apps;
  std::size_t online = 0;
  for (const auto& p : processes_) {
    apps.insert(p.name);
    if (p.status == "online") ++online;
  }
  lines.push_back(clip({{" herd monit", MonitStyle::kTitle},
                        {fmt::format("   {} app{}, {} process{}, {} online", apps.size(),
                                     apps.size() == 1 ? "" : "s", processes_.size(),
                                     processes_.size() == 1 ? "" : "es", online)}},
                       width, unicode));

  std::vector<std::size_t> widths = column_widths(width, unicode);
  std::string header = header_text(widths, unicode);
  if (show_trend_) header += std::string(kGap, ' ') + fit_columns("memory", kTrendWidth, unicode);
  if (show_share_)
    header += std::string(kGap, ' ') + fit_columns("conn share", kShareWidth, unicode);
  lines.push_back(clip({{header, MonitStyle::kHeader}}, width, unicode));
  render_rows(width, height, unicode, widths, &lines);

  // The selected instance's code metrics (docs/diagnostics.md), when its program reports them.
  const MonitProcess* sel = selected();
  if (sel != nullptr && !sel->code_metrics.empty()) {
    lines.push_back(clip({{" " + sel->code_metrics, MonitStyle::kNormal}}, width, unicode));
  }

  // The selected app's log.
  std::string label = sel != nullptr ? "logs: " + sel->name : "logs";
  lines.push_back(clip({{rule_text(label, width, unicode), MonitStyle::kRule}}, width, unicode));
  int log_height = height - 1 - static_cast<int>(lines.size());
  std::size_t shown = std::min(log_.size(), static_cast<std::size_t>(std::max(log_height, 0)));
  for (std::size_t i = log_.size() - shown; i < log_.size(); ++i) {
    const LogLine& l = log_[i];
    lines.push_back(clip({{fmt::format("{}|{} | ", l.id, l.app), MonitStyle::kDim},
                          {l.text, l.err ? MonitStyle::kError : MonitStyle::kNormal}},
                         width, unicode));
  }
  while (static_cast<int>(lines.size()) < height - 1) lines.push_back(MonitLine{});

  // Footer.
  if (!message_.empty()) {
    lines.push_back(
        clip({{" " + message_, message_error_ ? MonitStyle::kError : MonitStyle::kNormal}}, width,
             unicode));
  } else {
    lines.push_back(clip({{unicode ? " \u2191/\u2193 or j/k select   PgUp/PgDn   q quit"
                                   : " up/down or j/k select   PgUp/PgDn   q quit",
                           MonitStyle::kDim}},
                         width, unicode));
  }
  return lines;
}

}  // namespace herd::cli
