// WatchFilter: which changed paths under an app's watched directories do not restart it
// (PM2's `ignore_watch`).
//
// Each ignore_watch entry is one of:
//   /REGEX/   an ECMAScript regular expression, searched in the path relative to the app's cwd
//             (the absolute path for paths outside it): "/\\.tmp$/";
//   a glob    `*` and `?` within one path component, `**` across components, `[...]` classes,
//             `\` escapes the next character (so PM2's "\\.git" is the name ".git"). A glob
//             without `/` is matched against every component of the relative path
//             ("node_modules", "*.log", ".git" ignore those names at any depth); a glob with `/`
//             against the relative path and each of its leading directories ("client/img"
//             ignores that directory and everything below it), or against the absolute path when
//             it starts with `/`.
// An empty list means PM2's default: node_modules and every name starting with "." (which
// covers .git). Prefixes added with ignore_prefix() (herd's own log files, HERD_HOME) are
// ignored whatever the list says: restarting because the app wrote a log line would loop.
//
// Pure; a WatchFilter is immutable once built and may be shared between threads.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager {

class WatchFilter {
 public:
  // `base` is the app's cwd (absolute). EINVAL naming the entry for a /regex/ that does not
  // compile or an empty entry.
  static Result<WatchFilter> create(const std::vector<std::string>& patterns, std::string base);

  // Ignores `prefix` and every path that starts with it ("/home/u/.herd/logs/api-out.log"
  // covers its rotated "...log.1" too).
  void ignore_prefix(std::string prefix);

  // PM2's --ext: from now on only files whose names end with ".<ext>" for one of `exts` ("js",
  // "json") count as changes (directories are still walked). Empty: every file counts.
  void only_extensions(std::vector<std::string> exts) { extensions_ = std::move(exts); }
  bool has_extensions() const { return !extensions_.empty(); }
  // Whether a change to the file `path` counts under only_extensions().
  bool extension_counts(std::string_view path) const;

  // Whether a change to `path` (absolute, no trailing slash) is ignored. Relative rules see the
  // path relative to the app's cwd, or, for a path outside it, relative to `root` (the watched
  // directory it was found under), so that a watched /srv/.shared/conf is not ignored for the
  // dot in its own name.
  bool ignored(std::string_view path, std::string_view root = {}) const;

 private:
  struct Rule {
    std::string text;
    bool is_regex = false;
    bool has_slash = false;
    bool absolute = false;
    std::regex re;
  };
  std::string base_;
  std::vector<Rule> rules_;
  std::vector<std::string> prefixes_;
  std::vector<std::string> extensions_;
};

// Checks ignore_watch entries the way WatchFilter::create does, for the spec parsers.
Status validate_ignore_watch(const std::vector<std::string>& patterns);

// Glob matching as described above: `*`/`?` stop at '/', `**` crosses it, `[abc]`, `[a-z]`,
// `[!x]`/`[^x]`, `\x`. The whole `text` must match.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace herd::manager
