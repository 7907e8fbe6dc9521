#include "daemon/user.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <string_view>
#include <vector>

namespace herd::manager {
namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> fields;
  while (true) {
    auto at = line.find(sep);
    fields.push_back(line.substr(0, at));
    if (at == std::string_view::npos) break;
    line.remove_prefix(at + 1);
  }
  return fields;
}

template <class T>
bool parse_id(std::string_view text, T* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// name:password:uid:gid:gecos:home:shell; nullopt for a malformed line.
std::optional<PasswdEntry> parse_passwd_line(std::string_view line) {
  std::vector<std::string_view> fields = split(line, ':');
  if (fields.size() < 7 || fields[0].empty()) return std::nullopt;
  PasswdEntry e;
  e.name = std::string(fields[0]);
  if (!parse_id(fields[2], &e.uid) || !parse_id(fields[3], &e.gid)) return std::nullopt;
  e.home = std::string(fields[5]);
  e.shell = std::string(fields[6]);
  return e;
}

// name:password:gid:member,member; nullopt for a malformed line.
std::optional<GroupEntry> parse_group_line(std::string_view line) {
  std::vector<std::string_view> fields = split(line, ':');
  if (fields.size() < 4 || fields[0].empty()) return std::nullopt;
  GroupEntry e;
  e.name = std::string(fields[0]);
  if (!parse_id(fields[2], &e.gid)) return std::nullopt;
  if (!fields[3].empty()) {
    for (std::string_view m : split(fields[3], ',')) {
      if (!m.empty()) e.members.emplace_back(m);
    }
  }
  return e;
}

// Every well-formed entry of `file`, in order, until `visit` returns true.
template <class Entry>
void each_entry(const char* file, std::optional<Entry> (*parse)(std::string_view),
                const std::function<bool(Entry&)>& visit) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    // NIS compat entries (+name, -name, +) are directives, not accounts.
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    auto e = parse(line);
    if (e && visit(*e)) return;
  }
}

std::optional<PasswdEntry> find_entry(const char* passwd_file,
                                      const std::function<bool(const PasswdEntry&)>& match) {
  std::optional<PasswdEntry> found;
  each_entry<PasswdEntry>(passwd_file, parse_passwd_line, [&](PasswdEntry& e) {
    if (!match(e)) return false;
    found = std::move(e);
    return true;
  });
  return found;
}

}  // namespace

std::optional<PasswdEntry> passwd_entry(uid_t uid, const char* passwd_file) {
  return find_entry(passwd_file, [uid](const PasswdEntry& e) { return e.uid == uid; });
}

std::optional<PasswdEntry> passwd_entry(const std::string& name, const char* passwd_file) {
  return find_entry(passwd_file, [&name](const PasswdEntry& e) { return e.name == name; });
}

std::optional<GroupEntry> group_entry(const std::string& name_or_gid, const char* group_file) {
  gid_t gid = 0;
  bool by_gid = parse_id(std::string_view(name_or_gid), &gid);
  std::optional<GroupEntry> found;
  each_entry<GroupEntry>(group_file, parse_group_line, [&](GroupEntry& e) {
    if (by_gid ? e.gid != gid : e.name != name_or_gid) return false;
    found = std::move(e);
    return true;
  });
  return found;
}

std::vector<gid_t> supplementary_groups(const std::string& user, gid_t primary,
                                        const char* group_file) {
  std::vector<gid_t> out{primary};
  each_entry<GroupEntry>(group_file, parse_group_line, [&](GroupEntry& e) {
    bool member = std::find(e.members.begin(), e.members.end(), user) != e.members.end();
    if (member && std::find(out.begin(), out.end(), e.gid) == out.end()) out.push_back(e.gid);
    return false;
  });
  return out;
}

Result<Identity> resolve_identity(const std::string& user, const std::string& group,
                                  const char* passwd_file, const char* group_file) {
  std::optional<PasswdEntry> account = passwd_entry(user, passwd_file);
  uid_t uid = 0;
  if (!account && parse_id(std::string_view(user), &uid)) account = passwd_entry(uid, passwd_file);
  if (!account) return fail(EINVAL, fmt::format("no user '{}' in {}", user, passwd_file));
  Identity id;
  id.uid = account->uid;
  id.gid = account->gid;
  id.name = account->name;
  id.home = account->home;
  id.shell = account->shell.empty() ? "/bin/sh" : account->shell;
  if (!group.empty()) {
    auto g = group_entry(group, group_file);
    if (!g) return fail(EINVAL, fmt::format("no group '{}' in {}", group, group_file));
    id.gid = g->gid;
  }
  id.groups = supplementary_groups(id.name, id.gid, group_file);
  return id;
}

Result<std::optional<Identity>> app_identity(const std::string& user, const std::string& group) {
  if (user.empty() && group.empty()) return std::optional<Identity>();
  if (::geteuid() != 0) {
    return fail(EPERM, fmt::format("running as another user needs a daemon started by root "
                                   "(this one runs as uid {})",
                                   ::geteuid()));
  }
  auto id = resolve_identity(user.empty() ? std::to_string(::geteuid()) : user, group);
  if (!id) return std::unexpected(id.error());
  return std::optional<Identity>(std::move(*id));
}

}  // namespace herd::manager
