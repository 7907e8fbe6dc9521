#include "daemon/user.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <string_view>
#include <vector>

namespace herd::manager {
namespace {

// name:password:uid:gid:gecos:home:shell; nullopt for a malformed line.
std::optional<PasswdEntry> parse_line(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    auto colon = line.find(':');
    fields.push_back(line.substr(0, colon));
    if (colon == std::string_view::npos) break;
    line.remove_prefix(colon + 1);
  }
  if (fields.size() < 7 || fields[0].empty()) return std::nullopt;
  PasswdEntry e;
  e.name = std::string(fields[0]);
  const char* end = fields[2].data() + fields[2].size();
  auto [ptr, ec] = std::from_chars(fields[2].data(), end, e.uid);
  if (ec != std::errc() || ptr != end || fields[2].empty()) return std::nullopt;
  e.home = std::string(fields[5]);
  return e;
}

std::optional<PasswdEntry> find_entry(const char* passwd_file,
                                      const std::function<bool(const PasswdEntry&)>& match) {
  std::ifstream in(passwd_file);
  std::string line;
  while (std::getline(in, line)) {
    // NIS compat entries (+name, -name, +) are directives, not accounts.
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    auto e = parse_line(line);
    if (e && match(*e)) return e;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PasswdEntry> passwd_entry(uid_t uid, const char* passwd_file) {
  return find_entry(passwd_file, [uid](const PasswdEntry& e) { return e.uid == uid; });
}

std::optional<PasswdEntry> passwd_entry(const std::string& name, const char* passwd_file) {
  return find_entry(passwd_file, [&name](const PasswdEntry& e) { return e.name == name; });
}

}  // namespace herd::manager
