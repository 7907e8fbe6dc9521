// Ecosystem files: PM2's way to describe several apps in one file, read the way PM2 reads them.
//
//   {"apps": [{"name": "api", "script": "./server", "instances": "max",
//              "env": {"PORT": "8080"}, "env_production": {"NODE_ENV": "production"}}]}
//
// Formats, chosen by the file name: JSON (`.json`, with the JavaScript literal forms PM2 accepts
// there: comments, trailing commas, unquoted keys, single quotes; relaxed_json.h), YAML (`.yaml`,
// `.yml`), and JavaScript (`.js`, `.cjs`, `.mjs`, typically `ecosystem.config.js`), which is
// evaluated by `node` when it is in PATH. The document is `{"apps": [...]}` (or `{"pm2": [...]}`,
// as PM2 reads it), a bare array of apps, or a single app object. Each app takes PM2's keys and
// value forms (see app_spec.h), PM2's aliases (node_args, exec_interpreter, out, error, log,
// combine_logs, cron, exec, cmd, command) and herd's additions (listen, socket_mode, log_max_size,
// log_max_files).
//
// These functions read files and may run node; they block, so call them from the CLI (or a
// thread-pool job), never from a loop thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::manager {

struct EcosystemOptions {
  // `--env <name>`: each app's env_<name> is merged over its env (env_<name> wins).
  std::string env_name;
  // `--only a,b`: keep only these apps (by name; entries may hold comma-separated lists).
  // Empty = every app. A name that matches no app is an error.
  std::vector<std::string> only;
  // The CLI's environment, frozen into every app under env and env_<name> (PM2's rule). Its PATH
  // is also where `node` is looked for, and node runs with it (the caller's own environment when
  // this is empty).
  std::map<std::string, std::string> base_env;
};

struct EcosystemResult {
  std::vector<AppSpec> apps;
  // Things a person should see but that do not stop the start, each naming the place:
  // "ecosystem.json:7:7: apps[0] (api): unknown key \"instnces\" (did you mean \"instances\"?)".
  std::vector<std::string> warnings;
};

enum class EcosystemFormat { kJson, kYaml, kJavaScript };

// The format a path's name says (by extension); nullopt when it names none of them.
std::optional<EcosystemFormat> ecosystem_format(std::string_view path);

// Whether a `herd start` argument names an ecosystem file rather than a script: *.config.js
// (.cjs, .mjs), *.json, *.yaml, *.yml. A plain app.js is a script, as in PM2.
bool looks_like_ecosystem(std::string_view arg);

// Reads and resolves an ecosystem file. For every app:
//  - `script` is required; `name` defaults to the script's base name without extension;
//  - `cwd` is resolved against the file's directory, and defaults to it; relative log paths and
//    `~/` are resolved against cwd and HOME;
//  - env = base_env + env + env_<name> (+ PORT from `port`);
//  - exec_mode defaults to cluster when `listen` is given.
// Keys PM2 has that do not apply outside Node (source_map_support, vizion, ...) are accepted
// with a warning; unknown keys are warned about with a suggestion for close matches.
// Errors (EINVAL unless said otherwise) name the file, the line and column when known, the app
// and the key: "ecosystem.yaml:4:16: apps[1].instances: expected a number or \"max\", got true".
// ENOENT when the file (or node, for .js) is missing; ETIMEDOUT when node takes over 10 s.
Result<EcosystemResult> load_ecosystem(const std::string& path, const EcosystemOptions& opts);

// The same for a document already in memory (JSON or YAML only): `display_name` prefixes every
// message and `base_dir` stands for the file's directory.
Result<EcosystemResult> parse_ecosystem(std::string_view text, EcosystemFormat format,
                                        const std::string& display_name,
                                        const std::string& base_dir, const EcosystemOptions& opts);

// PM2's filter_env as a list (and `--filter-env`): `env` without every variable whose name
// contains one of `parts`.
std::map<std::string, std::string> drop_env_containing(std::map<std::string, std::string> env,
                                                       const std::vector<std::string>& parts);

}  // namespace herd::manager
