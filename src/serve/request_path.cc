#include "serve/request_path.h"

#include "base/ascii.h"

namespace herd::serve {
namespace {

constexpr std::size_t kMaxSegment = 255;    // NAME_MAX
constexpr std::size_t kMaxRelative = 4095;  // PATH_MAX - 1
constexpr std::string_view kWellKnown = ".well-known";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  char l = detail::ascii_lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The path part of an origin-form or absolute-form target; "" when it is neither.
std::string_view target_path(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        detail::iequals(target.substr(0, scheme.size()), scheme)) {
      std::string_view rest = target.substr(scheme.size());
      std::size_t slash = rest.find_first_of("/?#");
      if (slash == std::string_view::npos || rest[slash] != '/') return "/";
      return rest.substr(slash);
    }
  }
  if (target.empty() || target[0] != '/') return {};
  return target;
}

// One raw segment, percent-decoded into `out`; false for anything resolve_request_path refuses
// with kBadRequest.
bool decode_segment(std::string_view raw, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      int hi = hex_value(raw[i + 1]);
      int lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<unsigned char>(hi * 16 + lo);
      if (c == '/') return false;
      i += 2;
    }
    if (c == '\\' || is_control(c)) return false;  // NUL is a control byte
    out->push_back(static_cast<char>(c));
  }
  return true;
}

}  // namespace

std::expected<RequestPath, PathError> resolve_request_path(std::string_view target) {
  std::string_view path = target_path(target);
  if (path.empty()) return std::unexpected(PathError::kBadRequest);
  path = path.substr(0, path.find_first_of("?#"));
  if (path.size() > kMaxTargetPath) return std::unexpected(PathError::kBadRequest);

  RequestPath result;
  bool hidden = false;
  bool too_long = false;
  std::string segment;
  std::size_t start = 1;  // past the leading '/'
  for (;;) {
    std::size_t slash = path.find('/', start);
    std::string_view raw =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!decode_segment(raw, &segment)) return std::unexpected(PathError::kBadRequest);
    if (segment == "..") return std::unexpected(PathError::kBadRequest);
    bool last = slash == std::string_view::npos;
    if (!segment.empty() && segment != ".") {
      // Refusals by name wait until the whole target was checked: a malformed rest is still a 400.
      if (segment[0] == '.' && segment != kWellKnown) hidden = true;
      if (segment.size() > kMaxSegment) too_long = true;
      if (!result.relative.empty()) result.relative.push_back('/');
      result.relative += segment;
      if (result.relative.size() > kMaxRelative) too_long = true;
    }
    if (last) {
      result.folder = segment.empty() || segment == ".";
      break;
    }
    start = slash + 1;
  }
  if (hidden || too_long) return std::unexpected(PathError::kNotFound);
  return result;
}

std::string encode_path(std::string_view relative) {
  constexpr std::string_view kKept = "-._~!$&'()*+,;=:@/";
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "/";
  for (char ch : relative) {
    auto c = static_cast<unsigned char>(ch);
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || kKept.find(ch) != std::string_view::npos) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace herd::serve
