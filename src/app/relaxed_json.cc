#include "app/relaxed_json.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/utf8.h"

namespace herd::manager::detail {
namespace {

using herd::detail::append_utf8;

bool is_ident_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}
bool is_ident_char(unsigned char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A code point as UTF-8; a lone surrogate (which has no UTF-8 form) as U+FFFD, as node prints it.
void append_code_point(std::string& out, std::uint32_t cp) {
  append_utf8(out, cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : static_cast<char32_t>(cp));
}

// 0x, 0o or 0b (either case).
bool has_base_prefix(std::string_view token) {
  return token.size() > 2 && token[0] == '0' &&
         std::string_view("xXoObB").find(token[1]) != std::string_view::npos;
}

// A JavaScript numeric literal (without sign) as JSON's decimal text; nullopt when it is not one.
std::optional<std::string> js_number(std::string token) {
  std::erase(token, '_');
  if (has_base_prefix(token)) {
    char kind = static_cast<char>(token[1] | 0x20);
    int base = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
    std::uint64_t n = 0;
    const char* end = token.data() + token.size();
    auto r = std::from_chars(token.data() + 2, end, n, base);
    if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
    return std::to_string(n);
  }
  bool all_digits = token.find_first_not_of("0123456789") == std::string::npos;
  if (all_digits && token.size() > 1 && token[0] == '0') {
    // Legacy octal (017 is 15 in sloppy JavaScript, which vm.runInThisContext is); 089 is 89.
    std::uint64_t n = 0;
    const char* end = token.data() + token.size();
    auto r = std::from_chars(token.data(), end, n, 8);
    if (r.ec == std::errc() && r.ptr == end) return std::to_string(n);
    std::size_t first = token.find_first_not_of('0');
    return first == std::string::npos ? "0" : token.substr(first);
  }
  // digits [. digits] [e [+-] digits], with a digit before or after the dot.
  std::size_t i = 0;
  std::string out;
  while (i < token.size() && is_digit(token[i])) out += token[i++];
  bool int_digits = !out.empty();
  std::string frac;
  if (i < token.size() && token[i] == '.') {
    ++i;
    while (i < token.size() && is_digit(token[i])) frac += token[i++];
  }
  if (!int_digits && frac.empty()) return std::nullopt;
  if (!int_digits) out.push_back('0');  // out is empty: ".5" is 0.5
  if (!frac.empty()) {
    out += '.';
    out += frac;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    out += token[i++];
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) out += token[i++];
    if (i >= token.size() || !is_digit(token[i])) return std::nullopt;
    while (i < token.size() && is_digit(token[i])) out += token[i++];
  }
  if (i != token.size()) return std::nullopt;
  return out;
}

class Relaxer {
 public:
  explicit Relaxer(std::string_view text) : text_(text) {}

  std::expected<RelaxedJson, RelaxedJsonError> run() {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // a byte-order mark, as node skips it
    while (ok()) {
      skip_space();
      if (!ok() || pos_ >= text_.size()) break;
      token();
    }
    if (!error_) {
      out_.origin.push_back(text_.size());
      return std::move(out_);
    }
    return std::unexpected(std::move(*error_));
  }

 private:
  bool ok() const { return !error_.has_value(); }
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void fail_at(std::size_t offset, std::string reason) {
    if (!error_) error_ = RelaxedJsonError{offset, std::move(reason)};
  }
  void emit(std::string_view s, std::size_t from) {
    out_.json.append(s);
    out_.origin.insert(out_.origin.end(), s.size(), from);
  }

  // Whitespace and comments.
  void skip_space() {
    while (pos_ < text_.size()) {
      if (is_space(peek())) {
        ++pos_;
      } else if (peek() == '/' && peek(1) == '/') {
        while (pos_ < text_.size() && peek() != '\n') ++pos_;
      } else if (peek() == '/' && peek(1) == '*') {
        std::size_t end = text_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) {
          fail_at(pos_, "unterminated comment: expected */");
          pos_ = text_.size();
          return;
        }
        pos_ = end + 2;
      } else {
        return;
      }
    }
  }
  // The next significant character, without moving.
  char next_significant() {
    std::size_t saved = pos_;
    skip_space();
    char c = peek();
    pos_ = saved;
    return c;
  }

  void token() {
    std::size_t at = pos_;
    char c = peek();
    if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':') {
      emit(std::string_view(&text_[pos_++], 1), at);
    } else if (c == ',') {
      ++pos_;
      char next = next_significant();
      if (next != '}' && next != ']') emit(",", at);  // a trailing comma is dropped
    } else if (c == '"' || c == '\'' || c == '`') {
      string();
    } else if (is_digit(c) || c == '.' || c == '+' || c == '-') {
      number();
    } else if (is_ident_start(static_cast<unsigned char>(c))) {
      identifier();
    } else {
      // A control or non-ASCII byte is named by its value: printed raw it would not be seen.
      std::string shown = c > ' ' && c < 0x7f
                              ? fmt::format("'{}'", c)
                              : fmt::format("byte 0x{:02X}", static_cast<unsigned char>(c));
      fail_at(at, fmt::format("unexpected character {}: expected a value (a string, number, "
                              "object, array, true, false or null)",
                              shown));
    }
  }

  void string() {
    std::size_t at = pos_;
    char quote = text_[pos_++];
    std::string value;
    while (ok()) {
      if (pos_ >= text_.size())
        return fail_at(at, fmt::format("unterminated string: expected {}", quote));
      char c = text_[pos_];
      if (c == quote) break;
      if ((c == '\n' || c == '\r') && quote != '`') {
        return fail_at(pos_, fmt::format("a line break inside a string: expected {}", quote));
      }
      if (quote == '`' && c == '$' && peek(1) == '{') {
        return fail_at(pos_,
                       "a ${...} substitution is JavaScript, not a value: use a .config.js "
                       "file");
      }
      ++pos_;
      if (c == '\\') {
        escape(value);
      } else {
        value += c;
      }
    }
    if (!ok()) return;
    ++pos_;
    std::string quoted =
        nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    emit(quoted, at);
  }

  // After a backslash: JavaScript's escapes, appended to `value` as UTF-8.
  void escape(std::string& value) {
    std::size_t at = pos_ - 1;
    if (pos_ >= text_.size()) return fail_at(at, "unterminated string");
    char c = text_[pos_++];
    switch (c) {
      case 'n':
        value += '\n';
        return;
      case 't':
        value += '\t';
        return;
      case 'r':
        value += '\r';
        return;
      case 'b':
        value += '\b';
        return;
      case 'f':
        value += '\f';
        return;
      case 'v':
        value += '\v';
        return;
      case '\n':
        return;  // a line continuation
      case '\r':
        if (peek() == '\n') ++pos_;
        return;
      case '0':
        if (is_digit(peek())) return fail_at(at, "octal escapes are not supported: use \\x or \\u");
        value += '\0';
        return;
      case 'x': {
        int hi = hex_value(peek()), lo = hex_value(peek(1));
        if (hi < 0 || lo < 0) return fail_at(at, "expected two hex digits after \\x");
        pos_ += 2;
        append_code_point(value, static_cast<std::uint32_t>(hi * 16 + lo));
        return;
      }
      case 'u':
        return unicode_escape(value, at);
      default:
        if (is_digit(c)) return fail_at(at, "octal escapes are not supported: use \\x or \\u");
        value += c;  // \" \' \\ \/ and any other character stand for themselves
    }
  }

  // \uHHHH (a surrogate pair joined) or \u{H...}.
  void unicode_escape(std::string& value, std::size_t at) {
    std::uint32_t cp = 0;
    if (peek() == '{') {
      std::size_t close = text_.find('}', pos_);
      if (close == std::string_view::npos || close == pos_ + 1 || close - pos_ > 7) {
        return fail_at(at, "expected \\u{hex digits}");
      }
      for (std::size_t i = pos_ + 1; i < close; ++i) {
        int h = hex_value(text_[i]);
        if (h < 0) return fail_at(at, "expected \\u{hex digits}");
        cp = cp * 16 + static_cast<std::uint32_t>(h);
      }
      if (cp > 0x10FFFF) return fail_at(at, "\\u{...} above 10FFFF");
      pos_ = close + 1;
    } else {
      auto four = [&](std::size_t from) -> int {
        int v = 0;
        for (std::size_t i = 0; i < 4; ++i) {
          int h = from + i < text_.size() ? hex_value(text_[from + i]) : -1;
          if (h < 0) return -1;
          v = v * 16 + h;
        }
        return v;
      };
      int v = four(pos_);
      if (v < 0) return fail_at(at, "expected four hex digits after \\u");
      pos_ += 4;
      cp = static_cast<std::uint32_t>(v);
      if (cp >= 0xD800 && cp <= 0xDBFF && peek() == '\\' && peek(1) == 'u') {
        int low = four(pos_ + 2);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + static_cast<std::uint32_t>(low - 0xDC00);
          pos_ += 6;
        }
      }
    }
    append_code_point(value, cp);
  }

  void number() {
    std::size_t at = pos_;
    bool negative = false;
    if (peek() == '+' || peek() == '-') {
      negative = peek() == '-';
      ++pos_;
      skip_space();
      if (!is_digit(peek()) && peek() != '.') {
        return fail_at(at, "expected a number after the sign");
      }
    }
    std::size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = peek();
      bool exponent_sign = (c == '+' || c == '-') && pos_ > start &&
                           (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E') &&
                           !has_base_prefix(text_.substr(start, pos_ - start));
      if (!is_ident_char(static_cast<unsigned char>(c)) && c != '.' && !exponent_sign) break;
      ++pos_;
    }
    std::string token(text_.substr(start, pos_ - start));
    auto number = js_number(token);
    if (!number) return fail_at(start, fmt::format("invalid number '{}'", token));
    if (!negative && next_significant() == ':') {
      emit(nlohmann::json(*number).dump(), at);  // a numeric key is its text
      return;
    }
    if (negative) number->insert(number->begin(), '-');
    emit(*number, at);
  }

  void identifier() {
    std::size_t at = pos_;
    while (pos_ < text_.size() && is_ident_char(static_cast<unsigned char>(peek()))) ++pos_;
    std::string name(text_.substr(at, pos_ - at));
    if (next_significant() == ':') {
      emit(nlohmann::json(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), at);
    } else if (name == "true" || name == "false" || name == "null") {
      emit(name, at);
    } else if (name == "undefined") {
      emit("null", at);
    } else {
      fail_at(at, fmt::format("'{}' is not a value: expected a string, number, object, array, "
                              "true, false or null (PM2 evaluates .json files as JavaScript; for "
                              "an expression, use a .config.js file)",
                              name.size() > 40 ? name.substr(0, 40).append("...") : name));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  RelaxedJson out_;
  std::optional<RelaxedJsonError> error_;
};

}  // namespace

std::expected<RelaxedJson, RelaxedJsonError> relax_json(std::string_view text) {
  return Relaxer(text).run();
}

}  // namespace herd::manager::detail
