// `herd update [--binary PATH]`: asks the daemon to exec this herd binary (or PATH) with its
// state, keeping every app running (manager/takeover.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/client.h"
#include "herd/base/error.h"

namespace herd::cli {

// Sends the update and returns the new daemon's answer ({"version", "from_version", "pid",
// "binary", "processes"}). While an instance is starting or stopping the daemon answers E_BUSY:
// asked again for up to 10 s. A relative --binary is taken from the working directory; a wrong
// argument is an error of code kClient.
Client::CallResult request_update(Client& client, const std::vector<std::string>& args);

}  // namespace herd::cli
