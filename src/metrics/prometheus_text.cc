#include "metrics/prometheus_text.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <vector>

namespace herd::manager {
namespace {

using nlohmann::json;

// A number field of `obj` as a non-negative integer; 0 when missing, negative or not a number.
std::uint64_t uint_field(const json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    return v > 0 ? static_cast<std::uint64_t>(v) : 0;
  }
  double d = it->get<double>();
  return d > 0 ? static_cast<std::uint64_t>(d) : 0;
}

const json& member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// Milliseconds as seconds with three decimals, exactly: 1234 -> "1.234".
std::string seconds_of_ms(std::uint64_t ms) {
  return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

struct Family {
  const char* name;
  const char* type;
  const char* help;
  // Written only when some instance has a sample (the health families: apps with a check).
  bool only_with_samples = false;
};

constexpr Family kFamilies[] = {
    {"herd_process_cpu_seconds_total", "counter",
     "CPU time (user and system) used by the instance's process, in seconds."},
    {"herd_process_resident_memory_bytes", "gauge",
     "Resident memory of the instance's process, in bytes."},
    {"herd_process_restarts_total", "counter", "Restarts of the instance (crashes and requests)."},
    {"herd_process_up", "gauge", "1 when the instance is online, 0 otherwise."},
    {"herd_process_uptime_seconds", "gauge",
     "Seconds since the instance's current process started; 0 when none runs."},
    {"herd_reloads_total", "counter", "Reloads of the instance."},
    {"herd_process_healthy", "gauge",
     "1 when the instance's health check passes, 0 otherwise; only instances with a check.", true},
    {"herd_health_check_duration_seconds", "gauge",
     "How long the instance's last health check took, in seconds; only instances with a check.",
     true},
    // Diagnostics (docs/diagnostics.md): only instances that have the figure.
    {"herd_process_memory_growth_bytes_per_second", "gauge",
     "Growth rate of the instance's memory over its memory window (least squares), in bytes/s.",
     true},
    {"herd_process_memory_leak_suspected", "gauge",
     "1 when the instance's memory grew steadily over the whole window beyond the threshold.",
     true},
    {"herd_process_connection_share", "gauge",
     "The instance's share (0 to 1) of the connections its app accepted over the load window.",
     true},
    {"herd_process_accepted_connections_total", "counter",
     "Connections the instance slot accepted on the sockets herd holds (cluster mode).", true},
    {"herd_process_load_imbalance", "gauge",
     "1 when the instance took more than twice the others' mean over the load window.", true},
};

// One instance's values, in the order of kFamilies.
std::vector<std::string> values_of(const json& p, std::int64_t now_ms) {
  const json& monit = member(p, "monit");
  const json& env = member(p, "pm2_env");
  const json& status = member(env, "status");
  bool online = status.is_string() && status.get<std::string>() == "online";
  bool running = uint_field(p, "pid") > 0;
  std::uint64_t started = uint_field(env, "pm_uptime");
  std::uint64_t uptime_ms = 0;
  if (running && started > 0 && now_ms > 0 && static_cast<std::uint64_t>(now_ms) > started) {
    uptime_ms = static_cast<std::uint64_t>(now_ms) - started;
  }
  // Reloads: counted by the daemon per instance; older daemons do not report them.
  std::uint64_t reloads =
      member(p, "reloads").is_number() ? uint_field(p, "reloads") : uint_field(env, "reloads");
  // Health: lines only for an instance with a check (an empty value leaves its line out).
  const json& health = member(env, "health");
  bool checked = health.is_object();
  const json& verdict = member(health, "status");
  bool healthy = verdict.is_string() && verdict.get_ref<const std::string&>() == "healthy";
  const json& ms = member(health, "latency_ms");
  double latency_s = ms.is_number() ? ms.get<double>() / 1000.0 : 0.0;
  // Diagnostics: a line only where the daemon reports the figure (null: not measured yet).
  const json& diag = member(env, "diagnostics");
  const json& memory = member(diag, "memory");
  const json& load = member(diag, "load");
  auto number = [](const json& v) {
    return v.is_number() ? fmt::format("{}", v.get<double>()) : "";
  };
  auto flag = [](const json& v) {
    return v.is_boolean() ? std::string(v.get<bool>() ? "1" : "0") : "";
  };
  const json& accepted = member(load, "accepted_total");
  return {
      seconds_of_ms(uint_field(monit, "cpu_time_ms")),
      std::to_string(uint_field(monit, "memory")),
      std::to_string(uint_field(env, "restart_time")),
      online ? "1" : "0",
      seconds_of_ms(uptime_ms),
      std::to_string(reloads),
      checked ? fmt::format("{}", healthy ? 1 : 0) : std::string(),
      checked ? fmt::format("{:.6f}", latency_s) : std::string(),
      number(member(memory, "growth_bytes_per_s")),
      flag(member(memory, "leak")),
      number(member(load, "connection_share")),
      accepted.is_number() ? std::to_string(uint_field(load, "accepted_total")) : std::string(),
      flag(member(load, "imbalance")),
  };
}

std::string labels_of(const json& p) {
  const json& name = member(p, "name");
  std::string app = name.is_string() ? name.get<std::string>() : std::string();
  const json& id = member(p, "pm_id");
  std::string id_text = id.is_number_integer() ? std::to_string(id.get<std::int64_t>()) : "";
  return fmt::format("{{app=\"{}\",id=\"{}\"}}", prometheus_escape_label(app), id_text);
}

// The length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string prometheus_escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size();) {
    char c = value[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      std::size_t n = utf8_length(value, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
        continue;
      }
      out.append(value.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  return out;
}

std::string prometheus_text(const json& jlist, std::int64_t now_ms) {
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> values;
  if (jlist.is_array()) {
    for (const auto& p : jlist) {
      if (!p.is_object()) continue;
      labels.push_back(labels_of(p));
      values.push_back(values_of(p, now_ms));
    }
  }
  std::string out;
  for (std::size_t f = 0; f < std::size(kFamilies); ++f) {
    const Family& family = kFamilies[f];
    bool any = !family.only_with_samples;
    for (const auto& v : values) any = any || !v[f].empty();
    if (!any) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name,
                       family.type);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (values[i][f].empty()) continue;
      out += fmt::format("{}{} {}\n", family.name, labels[i], values[i][f]);
    }
  }
  return out + prometheus_code_metrics(jlist);
}

}  // namespace herd::manager
