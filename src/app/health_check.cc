#include "app/health_check.h"

#include <fmt/format.h>

#include "app/app_spec.h"
#include "app/setting_values.h"

namespace herd::manager {
namespace {

using detail::as_bool;
using detail::as_count;
using detail::as_duration;
using detail::as_string;
using detail::describe_value;
using nlohmann::json;

std::unexpected<Error> field_error(std::string_view field, const Error& e) {
  return fail(EINVAL, fmt::format("{}: {}", field, e.context()));
}

std::unexpected<Error> field_fail(std::string_view field, std::string_view what, const json& v) {
  return fail(EINVAL, fmt::format("{}: expected {}, got {}", field, what, describe_value(v)));
}

std::string duration_text(std::uint64_t ms) {
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

// Sets one field of `c` from `v`; `kinds` counts how many of http/tcp/exec were given.
Status set_field(HealthCheck& c, const std::string& key, const json& v, int* kinds) {
  if (key == "http") {
    auto s = as_string(v);
    if (!s) return field_error(key, s.error());
    if (s->empty() || (*s)[0] != '/') return field_fail(key, "a path that starts with /", v);
    for (char ch : *s) {
      if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) {
        return field_fail(key, "a path without spaces or control characters", v);
      }
    }
    c.kind = HealthCheck::Kind::kHttp;
    c.path = *s;
    ++*kinds;
  } else if (key == "tcp") {
    auto b = as_bool(v);
    if (!b) return field_error(key, b.error());
    if (*b) {
      c.kind = HealthCheck::Kind::kTcp;
      ++*kinds;
    }
  } else if (key == "exec") {
    auto s = as_string(v);
    if (!s) return field_error(key, s.error());
    auto words = split_command_line(*s);
    if (!words) return field_error(key, words.error());
    if (words->empty()) return field_fail(key, "a command", v);
    c.kind = HealthCheck::Kind::kExec;
    c.command = *s;
    ++*kinds;
  } else if (key == "port") {
    auto n = as_count(v, 65535);
    if (!n || *n == 0) return field_fail(key, "a port 1..65535", v);
    c.port = static_cast<int>(*n);
  } else if (key == "host") {
    auto s = as_string(v);
    if (!s || s->empty()) return field_fail(key, "an IP address", v);
    c.host = *s;
  } else if (key == "interval" || key == "timeout") {
    auto d = as_duration(v);
    if (!d) return field_error(key, d.error());
    if (*d == 0) return field_fail(key, "a duration above 0", v);
    (key == "interval" ? c.interval_ms : c.timeout_ms) = *d;
  } else if (key == "initial_delay") {
    auto d = as_duration(v);
    if (!d) return field_error(key, d.error());
    c.initial_delay_ms = *d;
  } else if (key == "failures" || key == "successes") {
    auto n = as_count(v, 1000);
    if (!n || *n == 0) return field_fail(key, "a whole number 1..1000", v);
    (key == "failures" ? c.failures : c.successes) = static_cast<int>(*n);
  } else if (key == "liveness" || key == "readiness") {
    auto b = as_bool(v);
    if (!b) return field_error(key, b.error());
    (key == "liveness" ? c.liveness : c.readiness) = *b;
  } else {
    return fail(EINVAL, fmt::format("unknown field '{}' (known: http, tcp, exec, port, host, "
                                    "interval, timeout, failures, successes, initial_delay, "
                                    "liveness, readiness)",
                                    key));
  }
  return {};
}

Status finish(const HealthCheck& c, int kinds) {
  if (kinds == 0) return fail(EINVAL, "give one of http, tcp or exec");
  if (kinds > 1) return fail(EINVAL, "give only one of http, tcp or exec");
  if (!c.liveness && !c.readiness) {
    return fail(EINVAL, "liveness and readiness are both false: the check would do nothing");
  }
  return {};
}

}  // namespace

const char* health_kind_name(HealthCheck::Kind kind) {
  switch (kind) {
    case HealthCheck::Kind::kHttp:
      return "http";
    case HealthCheck::Kind::kTcp:
      return "tcp";
    case HealthCheck::Kind::kExec:
      return "exec";
    case HealthCheck::Kind::kNone:
      break;
  }
  return "none";
}

json health_check_to_json(const HealthCheck& c) {
  if (!c.enabled()) return json();
  json j = json::object();
  switch (c.kind) {
    case HealthCheck::Kind::kHttp:
      j["http"] = c.path;
      break;
    case HealthCheck::Kind::kTcp:
      j["tcp"] = true;
      break;
    case HealthCheck::Kind::kExec:
      j["exec"] = c.command;
      break;
    case HealthCheck::Kind::kNone:
      break;
  }
  if (c.kind != HealthCheck::Kind::kExec) {
    j["port"] = c.port;
    j["host"] = c.host;
  }
  j["interval"] = c.interval_ms;
  j["timeout"] = c.timeout_ms;
  j["failures"] = c.failures;
  j["successes"] = c.successes;
  j["initial_delay"] = c.initial_delay_ms;
  j["liveness"] = c.liveness;
  j["readiness"] = c.readiness;
  return j;
}

Result<HealthCheck> health_check_from_json(const json& v) {
  if (v.is_null() || (v.is_boolean() && !v.get<bool>())) return HealthCheck{};
  if (v.is_string()) return parse_health_check(v.get<std::string>());
  if (!v.is_object()) {
    return detail::expected("an object such as {\"http\": \"/healthz\", \"interval\": \"5s\"}", v);
  }
  HealthCheck c;
  int kinds = 0;
  for (const auto& [key, value] : v.items()) {
    // port 0 is what to_json writes for "the instance's PORT".
    if (key == "port" && value.is_number() && value == 0) continue;
    if (value.is_null()) continue;
    if (Status s = set_field(c, key, value, &kinds); !s) return std::unexpected(s.error());
  }
  if (Status s = finish(c, kinds); !s) return std::unexpected(s.error());
  return c;
}

Result<HealthCheck> parse_health_check(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t");
  if (first != std::string_view::npos && text[first] == '{') {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail(EINVAL, fmt::format("not a JSON object: {}", text));
    return health_check_from_json(j);
  }
  HealthCheck c;
  int kinds = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    std::size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    if (key == "exec" && eq != std::string_view::npos) {
      // The command takes the rest, commas included.
      item = text.substr(pos);
      comma = std::string_view::npos;
    }
    if (!key.empty()) {
      json value =
          eq == std::string_view::npos ? json(true) : json(std::string(item.substr(eq + 1)));
      if (Status s = set_field(c, key, value, &kinds); !s) return std::unexpected(s.error());
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (Status s = finish(c, kinds); !s) return std::unexpected(s.error());
  return c;
}

std::string health_check_summary(const HealthCheck& c) {
  if (!c.enabled()) return "none";
  std::string what;
  std::string port = c.port > 0 ? std::to_string(c.port) : std::string("$PORT");
  switch (c.kind) {
    case HealthCheck::Kind::kHttp:
      what = fmt::format("http GET {}:{}{}", c.host, port, c.path);
      break;
    case HealthCheck::Kind::kTcp:
      what = fmt::format("tcp connect {}:{}", c.host, port);
      break;
    case HealthCheck::Kind::kExec:
      what = fmt::format("exec {}", c.command);
      break;
    case HealthCheck::Kind::kNone:
      break;
  }
  std::string roles = c.liveness && c.readiness ? "liveness+readiness"
                      : c.liveness              ? "liveness"
                                                : "readiness";
  return fmt::format("{} every {} (timeout {}, {} failures, {} successes, {})", what,
                     duration_text(c.interval_ms), duration_text(c.timeout_ms), c.failures,
                     c.successes, roles);
}

}  // namespace herd::manager
