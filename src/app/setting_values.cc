#include "app/setting_values.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "app/app_spec.h"
#include "base/ascii.h"

namespace herd::manager::detail {

using herd::detail::all_digits;
using herd::detail::lower;
using nlohmann::json;

std::string describe_value(const json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  // A string need not be UTF-8 (YAML, a JS file): shown with U+FFFD, never a throw from dump().
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::unexpected<Error> expected(std::string_view what, const json& v) {
  return fail(EINVAL, fmt::format("expected {}, got {}", what, describe_value(v)));
}

Result<std::string> as_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return expected("a string", v);
}

Result<bool> as_bool(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    std::string s = lower(v.get<std::string>());
    // YAML 1.1 habits ("yes", "on") reach us as strings from YAML 1.2 parsers.
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return expected("true or false", v);
}

Result<std::uint64_t> as_count(const json& v, std::uint64_t max) {
  std::uint64_t n = 0;
  if (v.is_number_unsigned()) {
    n = v.get<std::uint64_t>();
  } else if (v.is_number_integer()) {
    if (v.get<std::int64_t>() < 0) return expected("a number >= 0", v);
    n = static_cast<std::uint64_t>(v.get<std::int64_t>());
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (!(d >= 0) || d != std::floor(d) || d > static_cast<double>(max)) {
      return expected("a whole number >= 0", v);
    }
    n = static_cast<std::uint64_t>(d);
  } else if (v.is_string() && all_digits(v.get<std::string>())) {
    const std::string& s = v.get_ref<const std::string&>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) return expected("a smaller number", v);
  } else {
    return expected("a number >= 0", v);
  }
  if (n > max) return expected(fmt::format("a number <= {}", max), v);
  return n;
}

Result<int> as_int(const json& v) {
  auto n = as_count(v, INT_MAX);
  if (!n) return std::unexpected(n.error());
  return static_cast<int>(*n);
}

Result<std::uint64_t> as_duration(const json& v) {
  if (v.is_number()) {
    double d = v.get<double>();
    if (!(d >= 0) || d > 1e15) return expected("a duration in ms >= 0", v);
    return static_cast<std::uint64_t>(std::llround(d));
  }
  if (v.is_string()) {
    auto ms = parse_duration_ms(v.get<std::string>());
    if (ms) return ms;
  }
  return expected("a duration (ms, or \"500ms\", \"1s\", \"2m\", \"1h\")", v);
}

Result<std::uint64_t> as_size(const json& v) {
  if (v.is_number()) return as_count(v, UINT64_MAX);
  if (v.is_string()) {
    auto bytes = parse_size(v.get<std::string>());
    if (bytes) return bytes;
  }
  return expected("a size (bytes, or \"512K\", \"300M\", \"1G\")", v);
}

Result<std::vector<std::string>> as_string_list(const json& v, bool split) {
  if (v.is_string()) {
    if (split) return split_command_line(v.get<std::string>());
    return std::vector<std::string>{v.get<std::string>()};
  }
  if (v.is_number()) return std::vector<std::string>{v.dump()};
  if (!v.is_array()) return expected(split ? "an array or a string" : "a list of strings", v);
  std::vector<std::string> out;
  for (const json& item : v) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (item.is_number()) {
      out.push_back(item.dump());
    } else {
      return fail(EINVAL,
                  fmt::format("expected an array of strings, got {} in it", describe_value(item)));
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> as_env(const json& v) {
  if (!v.is_object()) return expected("an object of NAME: value", v);
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    // Node's child_process turns any defined value into a string the same way (null -> "null");
    // objects are written as JSON rather than "[object Object]".
    out[key] = value.is_string() ? value.get<std::string>()
                                 : value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

Result<std::string> as_env_name(const json& v) {
  auto name = as_string(v);
  if (!name || name->empty() ||
      name->find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
    return expected("an environment variable name (not empty, no '=')", v);
  }
  return name;
}

Result<std::uint64_t> flag_ms(std::string_view flag, const std::string& v) {
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || v[0] == '-') {
    return fail(EINVAL, fmt::format("{} takes milliseconds (a whole number), not '{}'", flag, v));
  }
  return static_cast<std::uint64_t>(n);
}

Result<std::uint64_t> flag_watch_delay(const std::string& v) {
  bool unitless = !v.empty() && v.find_first_not_of("0123456789.") == std::string::npos;
  auto ms = parse_duration_ms(unitless ? v + "s" : v);
  if (!ms) {
    return fail(EINVAL, fmt::format("--watch-delay takes seconds (\"2\", \"0.5\") or a duration "
                                    "(\"500ms\"), not '{}'",
                                    v));
  }
  return ms;
}

std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= v.size()) {
    std::size_t c = v.find(',', start);
    std::string part = v.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!part.empty()) out.push_back(part);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

std::vector<std::string> split_words(const std::string& v) {
  std::vector<std::string> out;
  std::string word;
  for (char c : v + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  return out;
}

std::string absolute_in(const std::string& cwd, const std::string& path) {
  return path[0] == '/' ? path : cwd + "/" + path;
}

}  // namespace herd::manager::detail
