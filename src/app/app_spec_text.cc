// The AppSpec values that come as text from the CLI or an ecosystem file: instance counts, sizes
// ("300M"), durations ("1.5s"), signal names, command lines split like a shell, app names.
#include <fmt/format.h>
#include <signal.h>
#include <string.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>

#include "app/app_name.h"
#include "app/app_spec.h"
#include "base/ascii.h"

namespace herd::manager {

using herd::detail::all_digits;
using herd::detail::lower;

namespace {

// An optional sign and decimal digits, in int64 range; nullopt for anything else.
std::optional<std::int64_t> signed_decimal(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (!all_digits(digits)) return std::nullopt;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return text[0] == '-' ? -n : n;
}

}  // namespace

Status validate_instances(const std::string& value, int cpus) {
  if (value == "max") return {};
  auto n = signed_decimal(value);
  if (!n) {
    return fail(EINVAL, fmt::format("instances: expected a number or \"max\", got \"{}\"", value));
  }
  if (*n > kMaxInstances || *n < -kMaxInstances) {
    return fail(EINVAL, fmt::format("instances: expected a number or \"max\" from -{} to {}, got "
                                    "\"{}\"",
                                    kMaxInstances, kMaxInstances, value));
  }
  if (cpus > 0 && *n < 0 && -*n >= cpus) {
    return fail(EINVAL, fmt::format("instances: {} leaves no instance on this machine with {} "
                                    "CPU(s) (\"-N\" means all CPUs but N)",
                                    value, cpus));
  }
  return {};
}

Result<int> scale_target(std::string_view count, int current) {
  auto n = signed_decimal(count);
  if (!n) {
    return fail(EINVAL, fmt::format("scale takes N, +N or -N (decimal digits); '{}' is none of "
                                    "them",
                                    count));
  }
  bool relative = count[0] == '+' || count[0] == '-';
  // |n| is below 2^63 and current is small: the sum cannot overflow.
  std::int64_t wanted = relative ? current + *n : *n;
  if (wanted < 1) {
    return fail(EINVAL, fmt::format("scale {} would leave {} instances; an app keeps at least 1 "
                                    "(`herd stop` stops it, `herd delete` removes it)",
                                    count, wanted));
  }
  if (wanted > kMaxInstances) {
    return fail(EINVAL, fmt::format("scale {} would make {} instances; at most {} are allowed",
                                    count, wanted, kMaxInstances));
  }
  return static_cast<int>(wanted);
}

Result<std::uint64_t> parse_size(const std::string& text) {
  std::string_view s = text;
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  std::string unit = lower(s.substr(digits));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  std::uint64_t scale = 0;
  if (unit.empty()) {
    scale = 1;
  } else if (unit == "k") {
    scale = 1ull << 10;
  } else if (unit == "m") {
    scale = 1ull << 20;
  } else if (unit == "g") {
    scale = 1ull << 30;
  } else if (unit == "t") {
    scale = 1ull << 40;
  }
  std::uint64_t n = 0;
  if (digits == 0 || scale == 0 ||
      std::from_chars(s.data(), s.data() + digits, n).ec != std::errc() || n > UINT64_MAX / scale) {
    return fail(EINVAL,
                fmt::format("bad size \"{}\" (expected bytes, or a number with K, M or G)", text));
  }
  return n * scale;
}

Result<std::uint64_t> parse_duration_ms(const std::string& text) {
  std::string_view s = text;
  std::size_t end = 0;
  bool dot = false;
  while (end < s.size() && ((s[end] >= '0' && s[end] <= '9') || (s[end] == '.' && !dot))) {
    dot = dot || s[end] == '.';
    ++end;
  }
  std::string unit = lower(s.substr(end));
  double scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  }
  double value = 0;
  std::string_view number = s.substr(0, end);
  if (number.empty() || number == "." || scale == 0 ||
      std::from_chars(number.data(), number.data() + number.size(), value).ec != std::errc() ||
      value * scale > 1e15) {
    return fail(
        EINVAL,
        fmt::format("bad duration \"{}\" (expected ms, or a number with ms, s, m or h)", text));
  }
  return static_cast<std::uint64_t>(std::llround(value * scale));
}

Result<int> parse_signal(const std::string& text) {
  if (all_digits(text)) {
    int n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && n >= 1 && n < NSIG) return n;
  } else {
    std::string name = lower(text);
    if (name.starts_with("sig")) name.erase(0, 3);
    for (int signo = 1; signo < NSIG; ++signo) {
      const char* abbrev = sigabbrev_np(signo);
      if (abbrev != nullptr && lower(abbrev) == name) return signo;
    }
  }
  return fail(EINVAL, fmt::format("unknown signal \"{}\"", text));
}

std::string signal_name(int signo) {
  const char* abbrev = signo > 0 && signo < NSIG ? sigabbrev_np(signo) : nullptr;
  return abbrev == nullptr ? std::string() : fmt::format("SIG{}", abbrev);
}

Result<std::vector<std::string>> split_command_line(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      std::size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return fail(EINVAL, fmt::format("unterminated ' in \"{}\"", text));
      }
      word.append(text.substr(i + 1, close - i - 1));
      in_word = true;
      i = close;
    } else if (c == '"') {
      // Inside double quotes a backslash escapes only what the shell lets it escape.
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            std::string_view("\"\\$`").find(text[j + 1]) != std::string_view::npos) {
          ++j;
        }
        word.push_back(text[j]);
      }
      if (j >= text.size()) return fail(EINVAL, fmt::format("unterminated \" in \"{}\"", text));
      in_word = true;
      i = j;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return fail(EINVAL, fmt::format("trailing \\ in \"{}\"", text));
      word.push_back(text[++i]);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::string default_app_name(std::string_view script) {
  std::size_t space = script.find_first_of(" \t");
  std::string_view first = script.substr(0, space);
  while (first.size() > 1 && first.back() == '/') first.remove_suffix(1);
  std::size_t slash = first.rfind('/');
  std::string_view base = slash == std::string_view::npos ? first : first.substr(slash + 1);
  // Like node's path.extname: a leading dot starts a name, not an extension (".env" stays).
  std::size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
  if (base == "/") return "app";
  return make_valid_app_name(base);
}

}  // namespace herd::manager
