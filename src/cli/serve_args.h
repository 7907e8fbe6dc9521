// `herd serve [path] [port]`'s command line, PM2's (lib/binaries/CLI.js of pm2 7), and the app
// it makes: herd's own binary run as `herd serve --foreground <folder> <port>`, which serves the
// folder (src/serve).
//
// parse_serve reads the file system (whether the folder exists) and nothing else; any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::cli {

inline constexpr int kDefaultServePort = 8080;  // PM2's

struct ServeCommand {
  bool help = false;        // -h, --help
  bool foreground = false;  // --foreground: serve in this process, no app
  std::string folder;       // absolute (against the working directory), not resolved further
  int port = kDefaultServePort;
  std::string host;  // --host; "" is PM2's 0.0.0.0
  bool spa = false;
  std::string user;  // basic authentication: both or none
  std::string password;
  // The start flags given (--name, -i, --namespace, restart and log settings), on a default
  // spec; serve_app() adds what makes it a server.
  manager::AppSpec app;
  bool name_given = false;
  std::vector<std::string> warnings;
};

// Parses what follows `herd serve`: [path] [port] (the folder defaults to ".", the port to
// 8080; the positional port wins over --port, as in PM2), --port N, --host ADDR, --spa,
// --basic-auth-username U, --basic-auth-password P, --monitor [NAME] (PM2.io: accepted with a
// warning), --foreground, and start's flags that make sense for a server (--name, -i, ...). For
// --foreground without credentials on the command line, PM2's variables PM2_SERVE_BASIC_AUTH=true,
// PM2_SERVE_BASIC_AUTH_USERNAME and PM2_SERVE_BASIC_AUTH_PASSWORD of `env` set them (that is how
// the app gets them: a command line is visible to every user, an environment is not).
// Errors are EINVAL with a sentence: an unknown or refused flag (--ftp, --interpreter, --watch,
// ...), a port that is not 1..65535, a folder that does not exist or is not a folder, one of
// the two credentials without the other, a third positional word.
Result<ServeCommand> parse_serve(const std::vector<std::string>& args, const std::string& cwd,
                                 const std::map<std::string, std::string>& env);

// "host:port" for Address::parse ("0.0.0.0:8080" by default, "[::1]:8080" for an IPv6 host).
std::string serve_address(const ServeCommand& command);

// The app of `command`: `exe` (herd's binary) with `serve --foreground <folder> <port> [--spa]
// [--host H]`, cwd the folder (as PM2), named --name or PM2's "static-page-server-<port>",
// `env` (the CLI's, frozen as for start) plus the credentials in PM2's variables (also in
// app_env, so that `restart --update-env` keeps them). One instance is fork mode, as in PM2;
// -i N (N other than 1) is cluster mode: herd holds the port (listen) and every instance
// serves from it.
manager::AppSpec serve_app(const ServeCommand& command, const std::string& exe,
                           std::map<std::string, std::string> env);

// PM2's `script: "serve"` in an ecosystem file (lib/API.js runs its Serve.js for it): when no
// file "serve" is in the app's cwd, `app` becomes herd's static server, configured as Serve.js
// reads it: PM2_SERVE_PATH, PM2_SERVE_PORT, PM2_SERVE_HOST, PM2_SERVE_SPA and the basic-auth
// variables of the app's env first, then its args (path, port), then ".", 8080; its other
// settings (name, instances, env, logs) stay. False when `app` is not such an app; EINVAL with
// the reason when its folder or port is wrong.
Result<bool> as_ecosystem_serve_app(manager::AppSpec& app, const std::string& exe);

// The path of the running binary (/proc/self/exe), "" when it cannot be read: the script of a
// served folder's app. The daemon may have been started from another binary (`herd update`),
// and PATH need not name either. Defined in cmd_serve.cc.
std::string own_binary();

const char* serve_usage();

}  // namespace herd::cli
