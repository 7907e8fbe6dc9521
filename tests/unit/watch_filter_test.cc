#include "app/watch_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herd::manager {
namespace {

TEST(GlobMatch, Table) {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Case cases[] = {
      {"*.log", "app.log", true},
      {"*.log", "app.log.1", false},
      {"*.log", "dir/app.log", false},  // '*' stays within a component
      {"**/*.log", "dir/sub/app.log", true},
      {"**/*.log", "app.log", true},  // "**/" may stand for no directory
      {"dir/**", "dir/a/b", true},
      {"a?c", "abc", true},
      {"a?c", "a/c", false},
      {"[abc]x", "bx", true},
      {"[!abc]x", "bx", false},
      {"[^abc]x", "dx", true},
      {"[a-c]x", "cx", true},
      {"[a-c]x", "dx", false},
      {"\\.git", ".git", true},
      {"\\.git", "xgit", false},
      {"[unclosed", "[unclosed", true},
      {"node_modules", "node_modules", true},
      {"node_modules", "node_modules2", false},
      {"", "", true},
      {"*", "", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
  }
}

TEST(WatchFilter, DefaultIgnoresNodeModulesAndDotFiles) {
  auto f = WatchFilter::create({}, "/srv/app");
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->ignored("/srv/app/node_modules"));
  EXPECT_TRUE(f->ignored("/srv/app/node_modules/x/index.js"));
  EXPECT_TRUE(f->ignored("/srv/app/.git/HEAD"));
  EXPECT_TRUE(f->ignored("/srv/app/src/.server.js.swp"));
  EXPECT_FALSE(f->ignored("/srv/app/server.js"));
  EXPECT_FALSE(f->ignored("/srv/app/src/lib/a.js"));
  // The cwd's own name is never looked at, nor the part of a root above the watched tree.
  auto hidden = WatchFilter::create({}, "/home/u/.apps/api");
  ASSERT_TRUE(hidden.has_value());
  EXPECT_FALSE(hidden->ignored("/home/u/.apps/api/server.js"));
  EXPECT_FALSE(hidden->ignored("/etc/.shared/conf/a.ini", "/etc/.shared/conf"));
  EXPECT_TRUE(hidden->ignored("/etc/.shared/conf/.a.ini", "/etc/.shared/conf"));
}

TEST(WatchFilter, PatternsAsPm2UsersWriteThem) {
  auto f = WatchFilter::create(
      {"node_modules", "\\.git", "*.log", "client/img", "/\\.tmp$/", "./build/", "/var/cache/**"},
      "/srv/app");
  ASSERT_TRUE(f.has_value()) << f.error().message();
  struct Case {
    const char* path;
    bool ignored;
  };
  const Case cases[] = {
      {"/srv/app/node_modules/a/b.js", true},
      {"/srv/app/lib/node_modules/a.js", true},
      {"/srv/app/.git/index", true},
      {"/srv/app/logs/out.log", true},
      {"/srv/app/out.log", true},
      {"/srv/app/client/img", true},
      {"/srv/app/client/img/a.png", true},
      {"/srv/app/client/js/a.js", false},
      {"/srv/app/img/a.png", false},
      {"/srv/app/data/x.tmp", true},
      {"/srv/app/data/x.tmp.js", false},
      {"/srv/app/build/main.o", true},
      {"/var/cache/app/x", true},
      {"/srv/app/server.js", false},
      // A user list replaces the default: dot-files count again.
      {"/srv/app/.env", false},
  };
  for (const Case& c : cases) EXPECT_EQ(f->ignored(c.path), c.ignored) << c.path;
}

TEST(WatchFilter, PrefixesAreAlwaysIgnored) {
  auto f = WatchFilter::create({"*.tmp"}, "/srv/app");
  ASSERT_TRUE(f.has_value());
  f->ignore_prefix("/srv/app/herd-home");
  f->ignore_prefix("/srv/app/logs/api-out.log");
  EXPECT_TRUE(f->ignored("/srv/app/herd-home/herd.log"));
  EXPECT_TRUE(f->ignored("/srv/app/logs/api-out.log"));
  EXPECT_TRUE(f->ignored("/srv/app/logs/api-out.log.1"));
  EXPECT_FALSE(f->ignored("/srv/app/logs/other.log"));
}

TEST(WatchFilter, BadEntriesAreRefusedByName) {
  auto f = WatchFilter::create({"ok", "/[unclosed/"}, "/srv/app");
  ASSERT_FALSE(f.has_value());
  EXPECT_TRUE(f.error().context().starts_with("entry /[unclosed/ is not a valid regex: "))
      << f.error().context();
  auto empty = validate_ignore_watch({"./"});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().context(), "entry \"./\" names no path");
  EXPECT_TRUE(validate_ignore_watch({"node_modules", "/x+/"}).has_value());
}

// PM2's --ext js,json: only those files count; the name must end with ".<ext>".
TEST(WatchFilter, OnlyExtensions) {
  auto f = WatchFilter::create({}, "/app");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->extension_counts("/app/README"));
  f->only_extensions({"js", "json"});
  EXPECT_TRUE(f->has_extensions());
  EXPECT_TRUE(f->extension_counts("/app/src/index.js"));
  EXPECT_TRUE(f->extension_counts("/app/package.json"));
  EXPECT_FALSE(f->extension_counts("/app/notes.txt"));
  EXPECT_FALSE(f->extension_counts("/app/x.ajs"));
  EXPECT_FALSE(f->extension_counts("/app/js"));
  EXPECT_FALSE(f->extension_counts("/app/a.js.map"));
}

}  // namespace
}  // namespace herd::manager
