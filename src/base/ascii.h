// ASCII-only, locale-free text helpers: HTTP header names, spec keywords, units. Unlike
// <cctype>, they never depend on the C locale and never take a negative char to undefined
// behaviour.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace herd::detail {

// `c` with an ASCII capital letter turned into its lower-case letter; other bytes unchanged.
constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// `s` with its ASCII letters in lower case.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Equal when compared ASCII case-insensitively.
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// True when `needle` occurs in `haystack`, compared ASCII case-insensitively.
constexpr bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// True for a non-empty run of '0'-'9'.
inline bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace herd::detail
