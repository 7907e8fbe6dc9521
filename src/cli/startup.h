// `herd startup` / `herd unstartup`: PM2's boot integration. The unit text is a pure function of
// its inputs (tested as such); installing and removing it are plain file operations in a
// directory the caller names (/etc/systemd/system for the CLI). herd never runs systemctl: it
// prints the commands that enable or disable the unit.
//
// The unit is Type=forking: `herd resurrect` starts the daemon (which detaches: setsid and a
// second fork, see cli/client.cc), waits until it answers and has restored dump.json, and exits;
// systemd then follows the daemon's keeper (manager/keeper.h) through HERD_HOME/keeper.pid,
// written before the daemon listens: the keeper restarts a crashed daemon and its apps itself.
// ExecStop is `herd kill` (every app stopped gracefully), ExecReload `herd reload all`, and
// Restart=on-failure runs `herd resurrect` again if the keeper gives up (5 crashes in 60 s).
#pragma once

#include <string>

#include "herd/base/error.h"

namespace herd::cli {

struct StartupOptions {
  std::string user;       // the account the daemon runs as (User=)
  std::string herd_home;  // absolute HERD_HOME of that account
  std::string herd_path;  // absolute path of the herd binary
  std::string path_env;   // PATH for the daemon and the apps it starts ("" = systemd's default)
  // PM2's --wait-ip: start once the network is configured (network-online.target), not just
  // once networking started, for apps that bind a specific address at start.
  bool wait_ip = false;
};

// The init systems `herd startup` knows; EINVAL naming the one asked for otherwise.
Status check_init_system(const std::string& name);

// "herd-<user>.service"
std::string startup_unit_name(const std::string& user);

// PM2's --service-name: "<name>.service" ("<name>" may end in ".service" already). EINVAL for a
// name systemd would not take as a unit file's name: empty, with '/', whitespace, or quoting.
Result<std::string> service_unit_name(const std::string& name);

// The systemd unit. EINVAL when a path is not absolute, the user name is empty or not a plain
// account name, or a value holds a newline (nothing can quote it in a unit file). Values are
// quoted and '%' is escaped, so spaces and percent signs survive systemd's parsing.
Result<std::string> systemd_unit(const StartupOptions& options);

// Writes `text` as <dir>/<name>, mode 0644, atomically (temp file, fsync, rename).
Status install_unit(const std::string& dir, const std::string& name, const std::string& text);

// Removes <dir>/<name> and the link `systemctl enable` made for it
// (<dir>/multi-user.target.wants/<name>). Returns false when there was no unit to remove.
Result<bool> remove_unit(const std::string& dir, const std::string& name);

}  // namespace herd::cli
