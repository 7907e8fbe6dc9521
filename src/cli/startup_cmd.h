// The `startup` and `unstartup` verbs of the CLI (they need no daemon).
#pragma once

#include <string>
#include <vector>

namespace herd::cli {

// `herd startup [systemd] [-u USER] [--hp HOME] [--write]`: prints the systemd unit that runs
// `herd resurrect` at boot for USER (default: you) with HERD_HOME (default: the current one;
// with --hp, HOME/.herd as PM2's --hp), and the commands that install and enable it. --write
// also writes it to /etc/systemd/system/herd-USER.service (root only).
// `herd unstartup [systemd] [-u USER]`: removes that file and its enable link.
// Returns the process's exit code; errors go to stderr.
int startup_command(const std::string& verb, const std::vector<std::string>& args);

}  // namespace herd::cli
