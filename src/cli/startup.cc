#include "cli/startup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "herd/base/fd.h"

namespace herd::cli {
namespace {

// A value as one word of a unit file: in double quotes (so spaces survive), with '\' and '"'
// escaped as in C and '%' doubled (systemd expands %-specifiers in most settings).
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '%') out += '%';
    out += c;
  }
  return out + "\"";
}

// PIDFile= takes a path as is, without quotes; only '%' needs escaping.
std::string percent_escaped(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '%') out += '%';
    out += c;
  }
  return out;
}

Status check_value(const char* what, const std::string& value, bool absolute_path) {
  if (value.find_first_of("\n\r") != std::string::npos) {
    return fail(EINVAL, fmt::format("{} holds a line break, which a unit file cannot carry", what));
  }
  if (absolute_path && (value.empty() || value[0] != '/')) {
    return fail(EINVAL, fmt::format("{} must be an absolute path, not '{}'", what, value));
  }
  return {};
}

}  // namespace

Status check_init_system(const std::string& name) {
  if (name == "systemd") return {};
  return fail(EINVAL, fmt::format("startup supports systemd only; '{}' is not supported "
                                  "(start `herd resurrect` at boot from your init system instead)",
                                  name));
}

std::string startup_unit_name(const std::string& user) { return "herd-" + user + ".service"; }

Result<std::string> service_unit_name(const std::string& name) {
  constexpr std::string_view kSuffix = ".service";
  std::string base = name.ends_with(kSuffix) ? name.substr(0, name.size() - kSuffix.size()) : name;
  if (base.empty() || base.find_first_of("/ \t\n\r\"'\\%") != std::string::npos) {
    return fail(EINVAL, fmt::format("'{}' is not a service name (letters, digits, '-', '_', '.', "
                                    "'@' and ':' make one)",
                                    name));
  }
  return base + std::string(kSuffix);
}

Result<std::string> systemd_unit(const StartupOptions& o) {
  // An account name as useradd allows it: no '/', whitespace or quoting to worry about.
  if (o.user.empty() || o.user.find_first_of("/ \t\n\r\"'\\%:") != std::string::npos) {
    return fail(EINVAL, fmt::format("'{}' is not a user name", o.user));
  }
  if (Status s = check_value("HERD_HOME", o.herd_home, true); !s) return std::unexpected(s.error());
  if (Status s = check_value("the herd binary", o.herd_path, true); !s) {
    return std::unexpected(s.error());
  }
  if (Status s = check_value("PATH", o.path_env, false); !s) return std::unexpected(s.error());

  std::string herd = quoted(o.herd_path);
  // PM2's systemd-online template says After=network-online.target only; systemd orders after
  // that target only when something also wants it, hence Wants= too.
  std::string unit = fmt::format(
      "[Unit]\n"
      "Description=herd process manager for {user}\n"
      "{after}"
      "\n"
      "[Service]\n"
      "Type=forking\n"
      "User={user}\n"
      "LimitNOFILE=infinity\n"
      "LimitNPROC=infinity\n"
      "LimitCORE=infinity\n"
      // The unit's cgroup subtree is the daemon's to manage: each app gets a cgroup of its own
      // (docs/resources.md), as a non-root user too.
      "Delegate=yes\n",
      fmt::arg("user", o.user),
      fmt::arg("after", o.wait_ip ? "Wants=network-online.target\nAfter=network-online.target\n"
                                  : "After=network.target\n"));
  if (!o.path_env.empty()) unit += "Environment=" + quoted("PATH=" + o.path_env) + "\n";
  unit += "Environment=" + quoted("HERD_HOME=" + o.herd_home) + "\n";
  // The keeper, not the daemon: it outlives a daemon crash (and restores the apps itself), so
  // systemd only steps in when the keeper gives up.
  unit += "PIDFile=" + percent_escaped(o.herd_home + "/keeper.pid") + "\n";
  unit += fmt::format(
      "Restart=on-failure\n"
      "\n"
      "ExecStart={herd} resurrect\n"
      "ExecReload={herd} reload all\n"
      "ExecStop={herd} kill\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n",
      fmt::arg("herd", herd));
  return unit;
}

Status install_unit(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp";
  {
    auto fd = Fd::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!fd) return std::unexpected(fd.error());
    // The umask must not make the unit unreadable to systemd's tools run as other users.
    if (::fchmod(fd->get(), 0644) < 0) return fail_errno("chmod " + tmp);
    std::string_view rest = text;
    while (!rest.empty()) {
      ssize_t n = ::write(fd->get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Error e = Error::from_errno("write " + tmp);
        ::unlink(tmp.c_str());
        return std::unexpected(e);
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd->get()) < 0) {
      Error e = Error::from_errno("fsync " + tmp);
      ::unlink(tmp.c_str());
      return std::unexpected(e);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = Error::from_errno(fmt::format("rename {} to {}", tmp, path));
    ::unlink(tmp.c_str());
    return std::unexpected(e);
  }
  return {};
}

Result<bool> remove_unit(const std::string& dir, const std::string& name) {
  std::string link = dir + "/multi-user.target.wants/" + name;
  struct stat st;
  if (::lstat(link.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && ::unlink(link.c_str()) < 0) {
    return fail_errno("remove " + link);
  }
  std::string path = dir + "/" + name;
  if (::unlink(path.c_str()) < 0) {
    if (errno == ENOENT) return false;
    return fail_errno("remove " + path);
  }
  return true;
}

}  // namespace herd::cli
