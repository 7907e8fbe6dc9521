// A column-aligned text table with box-drawing borders, as PM2 draws them (cli-tableau's
// "compact" style: a border around everything, a rule under the header, no rules between rows):
//
//   ┌────┬──────┐
//   │ id │ name │
//   ├────┼──────┤
//   │ 0  │ demo │
//   └────┴──────┘
//
// Widths are display widths (terminal columns), not bytes: "↺" is one column, a CJK ideograph
// two, a combining accent none. Pure functions of their input; no locale, no terminal queries.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace herd::cli {

// The number of terminal columns `text` occupies. `text` is UTF-8; an invalid byte counts as
// one column (a terminal shows it as one replacement character). ANSI CSI escape sequences
// ("\x1b[1;36m") count as zero columns, so a rendered, coloured line can be measured too.
std::size_t display_width(std::string_view text);

// `text` made safe to print inside a table cell: control characters (C0 including ESC and
// newlines, DEL, C1) become '?', a tab becomes a space, and every invalid UTF-8 byte becomes
// U+FFFD. Use it on every string that comes from an app (names, args, STATUS= texts) so that
// a hostile or careless app can neither break the table's alignment nor drive the terminal.
std::string sanitize(std::string_view text);

// One cell: its text and an optional SGR style ("1;36" for bold cyan; empty for none). The
// style is applied only when the table is rendered with colour, and only to the text, never
// to the padding. `text` is shown as given: sanitize() it first if it is untrusted.
struct Cell {
  Cell() = default;
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: implicit on purpose, for brevity.
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t, std::string s) : text(std::move(t)), style(std::move(s)) {}

  std::string text;
  std::string style;
};

// A table of left-aligned cells; each column is as wide as its widest cell plus one space of
// padding on each side. Rows may have different lengths: missing cells render empty.
class Table {
 public:
  // `header` may be empty: the table then has no header row and no rule under it (PM2's
  // key/value tables in `describe`).
  explicit Table(std::vector<Cell> header = {});

  void add_row(std::vector<Cell> row);
  std::size_t row_count() const { return rows_.size(); }

  // The table as text, every line (borders included) ending in '\n'. With `color` false the
  // output holds no escape sequence at all; with `color` true each styled cell's text is
  // wrapped in "\x1b[<style>m" ... "\x1b[0m". Every line has the same display_width(). A
  // table with no header and no rows renders as the empty string.
  std::string render(bool color) const;

 private:
  std::vector<Cell> header_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace herd::cli
