// Small text helpers shared by the spec parsers (app_spec, cron): ASCII only, locale-free.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace herd::manager::detail {

// True for a non-empty run of '0'-'9'.
inline bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `s` with ASCII letters in lower case.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace herd::manager::detail
