#include "serve/basic_auth.h"

#include "base/ascii.h"

namespace herd::serve {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  for (int i = 0; i < 2 && !text.empty() && text.back() == '='; ++i) text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  unsigned bits = 0;
  int have = 0;
  for (char c : text) {
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    have += 6;
    if (have >= 8) {
      have -= 8;
      out.push_back(static_cast<char>((bits >> have) & 0xff));
    }
  }
  return out;
}

bool constant_time_equals(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() != expected.size() ? 1 : 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto g = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

bool basic_auth_matches(std::optional<std::string_view> header, std::string_view user,
                        std::string_view password) {
  if (!header) return false;
  std::string_view h = *header;
  constexpr std::string_view kScheme = "basic ";
  if (h.size() <= kScheme.size() || !detail::iequals(h.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  h.remove_prefix(kScheme.size());
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  auto credentials = decode_base64(h);
  if (!credentials) return false;
  std::size_t colon = credentials->find(':');
  if (colon == std::string::npos) return false;
  // Both compared every time, so that a right user with a wrong password takes as long as a
  // wrong user.
  bool user_ok = constant_time_equals(std::string_view(*credentials).substr(0, colon), user);
  bool password_ok =
      constant_time_equals(std::string_view(*credentials).substr(colon + 1), password);
  return user_ok & password_ok;
}

}  // namespace herd::serve
