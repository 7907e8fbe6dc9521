#include "app/watch_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace herd::manager {
namespace {

// Matches one `[...]` class at p[*pi] against c; advances *pi past it. False (with *pi left
// alone) when the class is not closed: then '[' is an ordinary character.
bool match_class(std::string_view p, std::size_t* pi, char c, bool* matched) {
  std::size_t j = *pi + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  std::size_t start = j;
  bool hit = false;
  while (j < p.size() && (p[j] != ']' || j == start)) {
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      if (hi == '\\' && j + 3 < p.size()) {
        hi = p[j + 3];
        ++j;
      }
      j += 2;
    }
    if (c >= lo && c <= hi) hit = true;
    ++j;
  }
  if (j >= p.size()) return false;
  *pi = j + 1;
  *matched = c != '/' && hit != negate;
  return true;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) out.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

// `path` and each of its leading directories ("a/b/c" -> "a", "a/b", "a/b/c").
template <class F>
bool any_prefix(std::string_view path, F&& f) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if ((i == path.size() || path[i] == '/') && f(path.substr(0, i))) return true;
  }
  return false;
}

// The path relative to `dir`, when it lies under it.
bool relative_to(std::string_view path, std::string_view dir, std::string_view* rel) {
  if (dir.empty() || !path.starts_with(dir)) return false;
  if (path.size() == dir.size()) {
    *rel = {};
    return true;
  }
  if (dir.back() == '/') {
    *rel = path.substr(dir.size());
    return true;
  }
  if (path[dir.size()] != '/') return false;
  *rel = path.substr(dir.size() + 1);
  return true;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  std::size_t pi = 0;
  std::size_t ti = 0;
  while (pi < p.size()) {
    char pc = p[pi];
    if (pc == '*') {
      bool any_depth = pi + 1 < p.size() && p[pi + 1] == '*';
      std::size_t next = pi + (any_depth ? 2 : 1);
      // "**/" also stands for no directory at all: "**/x" matches "x".
      if (any_depth && next < p.size() && p[next] == '/' &&
          glob_match(p.substr(next + 1), t.substr(ti))) {
        return true;
      }
      for (std::size_t k = ti;; ++k) {
        if (glob_match(p.substr(next), t.substr(k))) return true;
        if (k >= t.size() || (!any_depth && t[k] == '/')) return false;
      }
    }
    if (ti >= t.size()) return false;
    char c = t[ti];
    if (pc == '?') {
      if (c == '/') return false;
      ++pi;
      ++ti;
      continue;
    }
    if (pc == '[') {
      bool matched = false;
      if (match_class(p, &pi, c, &matched)) {
        if (!matched) return false;
        ++ti;
        continue;
      }
    }
    if (pc == '\\' && pi + 1 < p.size()) pc = p[++pi];
    if (pc != c) return false;
    ++pi;
    ++ti;
  }
  return ti == t.size();
}

Result<WatchFilter> WatchFilter::create(const std::vector<std::string>& patterns,
                                        std::string base) {
  WatchFilter f;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  f.base_ = std::move(base);
  for (const std::string& pattern : patterns) {
    Rule r;
    if (pattern.size() >= 2 && pattern.front() == '/' && pattern.back() == '/') {
      r.text = pattern.substr(1, pattern.size() - 2);
      r.is_regex = true;
      try {
        r.re = std::regex(r.text, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return fail(EINVAL, fmt::format("entry {} is not a valid regex: {}", pattern, e.what()));
      }
    } else {
      std::string_view g = pattern;
      while (g.starts_with("./")) g.remove_prefix(2);
      while (g.size() > 1 && g.back() == '/') g.remove_suffix(1);
      if (g.empty() || g == ".") {
        return fail(EINVAL, fmt::format("entry \"{}\" names no path", pattern));
      }
      r.text = std::string(g);
      r.absolute = g.front() == '/';
      r.has_slash = g.find('/') != std::string_view::npos;
    }
    f.rules_.push_back(std::move(r));
  }
  return f;
}

void WatchFilter::ignore_prefix(std::string prefix) {
  if (!prefix.empty()) prefixes_.push_back(std::move(prefix));
}

bool WatchFilter::extension_counts(std::string_view path) const {
  if (extensions_.empty()) return true;
  std::string_view name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  return std::any_of(extensions_.begin(), extensions_.end(), [name](const std::string& e) {
    return name.size() > e.size() && name.ends_with(e) && name[name.size() - e.size() - 1] == '.';
  });
}

bool WatchFilter::ignored(std::string_view path, std::string_view root) const {
  for (const std::string& p : prefixes_) {
    if (path.starts_with(p)) return true;
  }
  std::string_view rel = path;
  if (!relative_to(path, base_, &rel) && !relative_to(path, root, &rel)) rel = path;
  if (rules_.empty()) {
    for (std::string_view c : components(rel)) {
      if (c == "node_modules" || c.front() == '.') return true;
    }
    return false;
  }
  for (const Rule& r : rules_) {
    if (r.is_regex) {
      if (std::regex_search(rel.begin(), rel.end(), r.re)) return true;
    } else if (r.absolute) {
      if (any_prefix(path, [&](std::string_view s) { return glob_match(r.text, s); })) {
        return true;
      }
    } else if (r.has_slash) {
      if (any_prefix(rel, [&](std::string_view s) { return glob_match(r.text, s); })) {
        return true;
      }
    } else {
      for (std::string_view c : components(rel)) {
        if (glob_match(r.text, c)) return true;
      }
    }
  }
  return false;
}

Status validate_ignore_watch(const std::vector<std::string>& patterns) {
  auto f = WatchFilter::create(patterns, "/");
  if (!f) return std::unexpected(f.error());
  return {};
}

}  // namespace herd::manager
