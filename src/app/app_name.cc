#include "app/app_name.h"

#include <fmt/format.h>

#include <algorithm>

namespace herd::manager {
namespace {

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The name as it can be shown on a terminal: control bytes as \xNN, cut after 60 bytes.
std::string shown(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 60)) {
    if (is_control(c) || c == '\\') {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  if (name.size() > 60) out += "...";
  return "\"" + out + "\"";
}

}  // namespace

Status validate_app_name(std::string_view name) {
  const char* why = nullptr;
  if (name.empty()) {
    why = "it is empty";
  } else if (name.size() > kMaxAppNameLength) {
    why = "it is longer than 128 bytes";
  } else if (name.find('/') != std::string_view::npos) {
    why = "it contains '/'";
  } else if (name.find('\\') != std::string_view::npos) {
    why = "it contains '\\'";
  } else if (std::any_of(name.begin(), name.end(), is_control)) {
    why = "it contains a control character";
  } else if (name == "." || name == "..") {
    why = "it is a directory's name";
  } else if (all_digits(name)) {
    why = "a name of digits only would be taken for an id";
  } else if (name == "all") {
    why = "\"all\" means every app";
  }
  if (why == nullptr) return {};
  return fail(EINVAL, fmt::format("{} is not a valid app name: {} (a name is 1-128 bytes, without "
                                  "'/', '\\', control characters, not all digits, not \"all\", "
                                  "\".\" or \"..\")",
                                  shown(name), why));
}

std::string make_valid_app_name(std::string_view name) {
  std::string out(name.substr(0, kMaxAppNameLength));
  for (char& c : out) {
    if (is_control(c) || c == '\\' || c == '/') c = '_';
  }
  if (out.empty() || out == "." || out == "..") return "app";
  if (all_digits(out) || out == "all") {
    out = "app-" + out;
    if (out.size() > kMaxAppNameLength) out.resize(kMaxAppNameLength);
  }
  return out;
}

}  // namespace herd::manager
