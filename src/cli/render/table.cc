#include "cli/render/table.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "base/utf8.h"

namespace herd::cli {
namespace {

using herd::detail::append_utf8;

constexpr char32_t kInvalid = 0xFFFFFFFF;

// Decodes one UTF-8 sequence at s[i] and advances i past it. A byte that does not start a
// well-formed sequence (stray continuation, overlong form, surrogate, beyond U+10FFFF,
// truncated) yields kInvalid and advances by exactly one byte, so decoding always resumes.
char32_t decode(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++i;
    return kInvalid;
  }
  if (i + len > s.size()) {
    ++i;
    return kInvalid;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return kInvalid;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kInvalid;
  }
  i += len;
  return cp;
}

struct Range {
  char32_t first;
  char32_t last;
};

// Code points that take no column: combining marks, zero-width spaces and joiners, bidi
// controls, variation selectors. A compact table for the common cases, not all of Unicode;
// rare scripts may come out a column off, which costs alignment, never correctness.
constexpr Range kZeroWidth[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},   {0x05BF, 0x05BF},   {0x05C1, 0x05C2},
    {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A},   {0x064B, 0x065F},   {0x0670, 0x0670},
    {0x06D6, 0x06DC}, {0x06DF, 0x06E4}, {0x06E7, 0x06E8},   {0x06EA, 0x06ED},   {0x0E31, 0x0E31},
    {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF},   {0x200B, 0x200F},
    {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F},   {0x20D0, 0x20FF},   {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0001, 0xE007F}, {0xE0100, 0xE01EF},
};

// Code points a terminal draws two columns wide (East Asian Wide and Fullwidth, and the
// emoji presented as such). East Asian "ambiguous" characters (box drawing, arrows such as
// "↺", "✔") count as one column, as in every non-CJK locale.
constexpr Range kWide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x17000, 0x18AFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F64F},
    {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

template <std::size_t N>
bool in(const Range (&table)[N], char32_t cp) {
  // The tables are sorted and disjoint: find the first range that ends at or after cp.
  const Range* it = std::lower_bound(std::begin(table), std::end(table), cp,
                                     [](const Range& r, char32_t c) { return r.last < c; });
  return it != std::end(table) && it->first <= cp;
}

std::size_t codepoint_width(char32_t cp) {
  if (cp == kInvalid) return 1;  // Shown as one replacement character.
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;
  if (cp < 0x300) return 1;  // The common case, without a search.
  if (in(kZeroWidth, cp)) return 0;
  if (in(kWide, cp)) return 2;
  return 1;
}

void append_repeated(std::string& out, std::string_view piece, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) out += piece;
}

}  // namespace

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      // CSI: parameter and intermediate bytes (0x20-0x3F), then one final byte (0x40-0x7E).
      i += 2;
      while (i < text.size() && text[i] >= 0x20 && text[i] <= 0x3F) ++i;
      if (i < text.size()) ++i;
      continue;
    }
    width += codepoint_width(decode(text, i));
  }
  return width;
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    const char32_t cp = decode(text, i);
    if (cp == kInvalid) {
      append_utf8(out, 0xFFFD);
    } else if (cp == '\t') {
      out += ' ';
    } else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029) {
      out += '?';
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

Table::Table(std::vector<Cell> header) : header_(std::move(header)) {}

void Table::add_row(std::vector<Cell> row) { rows_.push_back(std::move(row)); }

std::string Table::render(bool color) const {
  std::size_t columns = header_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  if (columns == 0) return {};

  std::vector<std::size_t> widths(columns, 0);
  auto measure = [&](const std::vector<Cell>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c].text));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);

  std::string out;
  auto rule = [&](std::string_view left, std::string_view middle, std::string_view right) {
    out += left;
    for (std::size_t c = 0; c < columns; ++c) {
      if (c > 0) out += middle;
      append_repeated(out, "─", widths[c] + 2);
    }
    out += right;
    out += '\n';
  };
  auto line = [&](const std::vector<Cell>& row) {
    out += "│";
    for (std::size_t c = 0; c < columns; ++c) {
      static const Cell kEmpty;
      const Cell& cell = c < row.size() ? row[c] : kEmpty;
      out += ' ';
      const bool styled = color && !cell.style.empty();
      if (styled) out += "\x1b[" + cell.style + "m";
      out += cell.text;
      if (styled) out += "\x1b[0m";
      out.append(widths[c] - display_width(cell.text) + 1, ' ');
      out += "│";
    }
    out += '\n';
  };

  rule("┌", "┬", "┐");
  if (!header_.empty()) {
    line(header_);
    // PM2 (cli-tableau, compact) draws the rule under the header only when rows follow.
    if (!rows_.empty()) rule("├", "┼", "┤");
  }
  for (const auto& row : rows_) line(row);
  rule("└", "┴", "┘");
  return out;
}

}  // namespace herd::cli
