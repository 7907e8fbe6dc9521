#include "app/ecosystem_reader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>
#include <set>

#include "app/relaxed_json.h"

namespace herd::manager::detail {
namespace {

using nlohmann::json;

// --- JSON ------------------------------------------------------------------------------------

// nlohmann's SAX interface says nothing about where a token was, but its iterator input adapter
// reads one character per increment, so an iterator that counts its increments tells how far the
// lexer has read. Copies share the counter; only the adapter's `current` ever moves.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* p, std::size_t* consumed) : p_(p), consumed_(consumed) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    ++*consumed_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }

 private:
  const char* p_;
  std::size_t* consumed_;
};

// Builds the document with nlohmann's own DOM builder and, beside it, records the path and
// position of every key and array element, and the path being parsed when an error stops it.
class PositionSax {
 public:
  // `text` is the file; the parser reads relax_json's rewrite of it, whose offsets `origin` maps
  // back to the file's.
  PositionSax(std::string_view text, const std::vector<std::size_t>* origin,
              const std::size_t* consumed, SourceDoc* doc)
      : text_(text), origin_(origin), consumed_(consumed), doc_(doc), dom_(doc->root, false) {}

  bool null() { return scalar(dom_.null(), 4); }
  bool boolean(bool v) { return scalar(dom_.boolean(v), v ? 4 : 5); }
  bool number_integer(json::number_integer_t v) { return scalar(dom_.number_integer(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(dom_.number_unsigned(v)); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return scalar(dom_.number_float(v, s));
  }
  bool string(json::string_t& v) {
    std::size_t quoted = v.size() + 2;
    return scalar(dom_.string(v), quoted);
  }
  bool binary(json::binary_t& v) { return scalar(dom_.binary(v)); }

  bool start_object(std::size_t n) {
    if (!enter()) return false;
    begin_value();
    frames_.push_back(Frame{false, 0, {}, {}, current_path()});
    return dom_.start_object(n);
  }
  bool key(json::string_t& k) {
    Frame& f = frames_.back();
    f.key = k;
    // The lexer has just read the closing quote; the key starts its length (plus quotes) back.
    std::size_t end = *consumed_;
    std::size_t start = end >= k.size() + 2 ? end - k.size() - 2 : 0;
    std::string path = current_path();
    SourcePos pos = position(start);
    if (!f.seen.insert(k).second) doc_->duplicate_keys.emplace_back(path, pos);
    doc_->positions[path] = pos;
    return dom_.key(k);
  }
  bool end_object() {
    frames_.pop_back();
    end_value();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    if (!enter()) return false;
    begin_value();
    frames_.push_back(Frame{true, 0, {}, {}, current_path()});
    return dom_.start_array(n);
  }
  bool end_array() {
    frames_.pop_back();
    end_value();
    return dom_.end_array();
  }
  bool parse_error(std::size_t offset, const std::string&, const nlohmann::detail::exception& e) {
    error_offset_ = offset;
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." ->
    // "syntax error ...": the place is reported in the file:line:column form instead.
    std::string what = e.what();
    std::size_t column = what.find("column ");
    std::size_t colon = column == std::string::npos ? std::string::npos : what.find(": ", column);
    error_reason_ = colon == std::string::npos ? what : what.substr(colon + 2);
    error_path_ = current_path();
    return false;
  }

  std::size_t error_offset() const { return error_offset_; }
  const std::string& error_reason() const { return error_reason_; }
  const std::string& error_path() const { return error_path_; }

 private:
  struct Frame {
    bool is_array;
    std::size_t index;  // arrays: the element being read
    std::string key;    // objects: the last key read
    std::set<std::string> seen;
    std::string path;  // this array's or object's own path, formatted once when it opens
  };

  // The path of the value being read now: one step from the innermost container's path, so
  // the cost per value does not grow with the depth.
  std::string current_path() const {
    if (frames_.empty()) return "";
    const Frame& f = frames_.back();
    return f.is_array ? element_path(f.path, f.index) : child_path(f.path, f.key);
  }
  // Refuses a container nested deeper than kMaxEcosystemDepth, as a parse error at this place.
  bool enter() {
    if (frames_.size() < kMaxEcosystemDepth) return true;
    error_offset_ = *consumed_;
    error_reason_ = fmt::format("nested deeper than {} levels", kMaxEcosystemDepth);
    error_path_ = current_path();
    return false;
  }
  // `length`: how much of the value the lexer has read (1 for '{' and '['; numbers are not
  // measured, so they point at their end).
  void begin_value(std::size_t length = 1) {
    if (!frames_.empty() && frames_.back().is_array) {
      std::size_t at = *consumed_ >= length ? *consumed_ - length : 0;
      doc_->positions[current_path()] = position(at);
    }
  }
  void end_value() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }
  // offset_to_pos, but resumed from the last answer: the parser only moves forward, so the whole
  // file is scanned once rather than once per key.
  SourcePos position(std::size_t offset) {
    offset = std::min((*origin_)[std::min(offset, origin_->size() - 1)], text_.size());
    if (offset < scanned_) {
      scanned_ = 0;
      scanned_pos_ = SourcePos{1, 1};
    }
    SourcePos step = offset_to_pos(text_.substr(scanned_), offset - scanned_);
    scanned_pos_ = step.line == 1
                       ? SourcePos{scanned_pos_.line, scanned_pos_.column + step.column - 1}
                       : SourcePos{scanned_pos_.line + step.line - 1, step.column};
    scanned_ = offset;
    return scanned_pos_;
  }
  bool scalar(bool ok, std::size_t length = 1) {
    begin_value(length);
    end_value();
    return ok;
  }

  std::string_view text_;
  const std::vector<std::size_t>* origin_;
  const std::size_t* consumed_;
  SourceDoc* doc_;
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<Frame> frames_;
  std::size_t scanned_ = 0;
  SourcePos scanned_pos_{1, 1};
  std::size_t error_offset_ = 0;
  std::string error_reason_;
  std::string error_path_;
};

// --- YAML ------------------------------------------------------------------------------------

SourcePos mark_pos(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return SourcePos{m.line + 1, m.column + 1};
}

bool is_int(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// A plain (unquoted) scalar resolved by YAML 1.2's core schema, which is what js-yaml (PM2's
// parser) does too: `4` is a number, `true` a boolean, `~` null, anything else a string.
json plain_scalar(const std::string& s, const std::string& tag) {
  auto tagged = [&](std::string_view t) { return tag.ends_with(t); };
  if (tagged(":str")) return s;
  if (tagged(":null") || s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_int(s)) {
    std::string_view digits = s[0] == '+' ? std::string_view(s).substr(1) : std::string_view(s);
    std::int64_t n = 0;
    if (std::from_chars(digits.data(), digits.data() + digits.size(), n).ec == std::errc()) {
      return n;
    }
  }
  if (s.starts_with("0x") || s.starts_with("0o")) {
    std::int64_t n = 0;
    const char* b = s.data() + 2;
    auto r = std::from_chars(b, s.data() + s.size(), n, s[1] == 'x' ? 16 : 8);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return n;
  }
  // A float needs a digit and nothing but digits, one dot and an exponent: "1.5", "1e3".
  if (s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_not_of("0123456789.eE+-") == std::string::npos) {
    double d = 0;
    auto r = std::from_chars(s.data() + (s[0] == '+'), s.data() + s.size(), d);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(d)) return d;
  }
  return s;
}

Result<json> yaml_to_json(const YAML::Node& node, const std::string& path, std::string_view name,
                          SourceDoc* doc, std::size_t depth = 0) {
  if (depth >= kMaxEcosystemDepth && (node.IsSequence() || node.IsMap())) {
    SourcePos pos = mark_pos(node.Mark());
    return fail(EINVAL, fmt::format("{}:{}:{}: nested deeper than {} levels (in {})", name,
                                    pos.line, pos.column, kMaxEcosystemDepth, path));
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      // yaml-cpp tags a quoted scalar "!" and a plain one "?".
      if (node.Tag() == "!") return json(node.Scalar());
      return plain_scalar(node.Scalar(), node.Tag());
    case YAML::NodeType::Sequence: {
      json out = json::array();
      std::size_t i = 0;
      for (const YAML::Node& item : node) {
        std::string item_path = element_path(path, i++);
        doc->positions[item_path] = mark_pos(item.Mark());
        auto v = yaml_to_json(item, item_path, name, doc, depth + 1);
        if (!v) return v;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map:
      break;
  }
  json out = json::object();
  // Merge keys (`<<: *defaults`, which js-yaml supports and yaml-cpp leaves as a plain key) go
  // in first, so that the map's own keys, read next, override them.
  for (const auto& kv : node) {
    if (!kv.first.IsScalar() || kv.first.Scalar() != "<<") continue;
    std::vector<YAML::Node> sources;
    if (kv.second.IsSequence()) {
      for (const YAML::Node& s : kv.second) sources.push_back(s);
    } else {
      sources.push_back(kv.second);
    }
    for (const YAML::Node& source : sources) {
      auto merged = yaml_to_json(source, path, name, doc, depth + 1);
      if (!merged) return merged;
      if (!merged->is_object()) {
        SourcePos pos = mark_pos(source.Mark());
        return fail(EINVAL, fmt::format("{}:{}:{}: << must merge a mapping ({})", name, pos.line,
                                        pos.column, path.empty() ? "top level" : path));
      }
      for (auto& [k, v] : merged->items()) {
        if (!out.contains(k)) out[k] = v;
      }
    }
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    SourcePos pos = mark_pos(kv.first.Mark());
    if (!kv.first.IsScalar()) {
      return fail(EINVAL, fmt::format("{}:{}:{}: a key must be a plain string", name, pos.line,
                                      pos.column));
    }
    const std::string& key = kv.first.Scalar();
    if (key == "<<") continue;
    std::string key_path = child_path(path, key);
    if (!seen.insert(key).second) doc->duplicate_keys.emplace_back(key_path, pos);
    doc->positions[key_path] = pos;
    auto v = yaml_to_json(kv.second, key_path, name, doc, depth + 1);
    if (!v) return v;
    out[key] = std::move(*v);
  }
  return out;
}

}  // namespace

SourcePos offset_to_pos(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  SourcePos pos{1, 1};
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string element_path(std::string_view parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

Result<SourceDoc> read_json(std::string_view text, std::string_view name) {
  // PM2 evaluates a .json file as JavaScript, so people write comments, trailing commas and
  // unquoted keys in them: relax_json rewrites those as JSON, and the parser reads the rewrite.
  auto relaxed = relax_json(text);
  if (!relaxed) {
    SourcePos pos = offset_to_pos(text, relaxed.error().offset);
    return fail(EINVAL,
                fmt::format("{}:{}:{}: {}", name, pos.line, pos.column, relaxed.error().reason));
  }
  const std::string& strict = relaxed->json;
  const std::vector<std::size_t>& origin = relaxed->origin;
  SourceDoc doc;
  std::size_t consumed = 0;
  PositionSax sax(text, &origin, &consumed, &doc);
  CountingIterator begin(strict.data(), &consumed);
  CountingIterator end(strict.data() + strict.size(), &consumed);
  bool ok = json::sax_parse(begin, end, &sax, json::input_format_t::json, /*strict=*/true,
                            /*ignore_comments=*/false);
  if (!ok) {
    // nlohmann counts the offending character as read: it is the one before the offset.
    std::size_t at = sax.error_offset() > 0 ? sax.error_offset() - 1 : 0;
    SourcePos pos = offset_to_pos(text, origin[std::min(at, origin.size() - 1)]);
    std::string where = sax.error_path().empty() ? "" : fmt::format(" (in {})", sax.error_path());
    return fail(EINVAL, fmt::format("{}:{}:{}: {}{}", name, pos.line, pos.column,
                                    sax.error_reason(), where));
  }
  return doc;
}

Result<SourceDoc> read_yaml(std::string_view text, std::string_view name) {
  SourceDoc doc;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    auto v = yaml_to_json(root, "", name, &doc);
    if (!v) return std::unexpected(v.error());
    doc.root = std::move(*v);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return fail(EINVAL, fmt::format("{}: {}", name, e.msg));
    return fail(EINVAL,
                fmt::format("{}:{}:{}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return doc;
}

}  // namespace herd::manager::detail
