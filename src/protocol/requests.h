// The control protocol's requests as types, and their JSON (docs/control-protocol.md, "Verbs"):
// the CLI builds one and sends request_json(); the daemon reads the one its verb takes with
// read_request() once the edge (control_request.h) has checked every field. Each request type's
// JSON mapping is written once, in requests.cc.
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/verbs.h"

namespace herd::manager {

// ping, resurrect, kill: nothing beside the verb.
struct EmptyRequest {};

// stop, delete, reset, describe, flush, logs. Targets given as numbers (ids) read as strings.
struct TargetsRequest {
  std::vector<std::string> targets;
};

// restart. `update_env`: the CLI's environment for --update-env; none keeps the frozen one.
// `app_env`: the app's own variables from its ecosystem file, read again (`herd restart
// ecosystem.json --env production`); they replace the ones the app had, on top of update_env.
struct RestartRequest {
  std::vector<std::string> targets;
  std::optional<std::map<std::string, std::string>> update_env;
  std::optional<std::map<std::string, std::string>> app_env;
};

// reload: a restart, rolling; `parallel` instances replaced at once (none: 1).
struct ReloadRequest {
  std::vector<std::string> targets;
  std::optional<std::map<std::string, std::string>> update_env;
  std::optional<std::map<std::string, std::string>> app_env;  // as restart's
  std::optional<int> parallel;
};

struct ScaleRequest {
  std::string app;
  std::string count;  // "N", "+N" or "-N"
};

struct SignalRequest {
  std::string signal;  // "SIGUSR2", "USR2" or "12"
  std::vector<std::string> targets;
};

struct EnvRequest {
  std::string target;  // one process
};

// start: the app descriptions as JSON objects (app_spec_from_json reads each, app/app_spec.h).
struct StartRequest {
  nlohmann::json apps = nlohmann::json::array();
};

struct SaveRequest {
  bool force = false;
};

struct UpdateRequest {
  std::string binary;  // absolute path of a herd binary
};

// apply: the file's apps (as start's), and what to do beside starting, reloading and leaving
// alone (docs/apply.md). `prune`: delete the apps of the file's namespaces it does not name.
// `unchanged`: "" (leave unchanged apps alone), "restart" or "reload" (PM2's startOrRestart and
// startOrReload: every running app of the file). `parallel`: as reload's.
struct ApplyRequest {
  nlohmann::json apps = nlohmann::json::array();
  bool prune = false;
  std::string unchanged;
  std::optional<int> parallel;
};

// jlist. `brief`: each process without pm2_env.env (its whole environment, most of the bytes),
// for views that do not show it (monit, metrics): 1,000 instances list in a third of the bytes.
// `rows`: each process with only the members `herd ls` renders and sorts by (pm_id, name, pid,
// monit's memory and cpu, and in pm2_env the status and what qualifies it, restarts, uptime,
// mode, namespace, version, user, watch), in the same shape: a few hundred bytes a process
// instead of kilobytes, built without the rest. `rows` wins over `brief`.
struct ListRequest {
  bool brief = false;
  bool rows = false;
};

// heapdump and profile (docs/diagnostics.md): one process, the absolute path of the file its
// process writes, and (profile) how long the CPU profile runs.
struct DiagnosticRequest {
  std::string target;
  std::string file;
  std::int64_t duration_ms = 0;  // profile only
};

// Any request; the alternative's index is the RequestKind the verb table names (verbs.h).
using Request = std::variant<EmptyRequest, TargetsRequest, RestartRequest, ReloadRequest,
                             ScaleRequest, SignalRequest, EnvRequest, StartRequest, SaveRequest,
                             UpdateRequest, ApplyRequest, ListRequest, DiagnosticRequest>;
static_assert(std::variant_size_v<Request> == kRequestKinds);

// The JSON of each request's fields (no "verb", no "id"). to_json writes only what is set;
// from_json reads a request the edge has checked, and skips a field of the wrong type.
void to_json(nlohmann::json& j, const EmptyRequest& r);
void from_json(const nlohmann::json& j, EmptyRequest& r);
void to_json(nlohmann::json& j, const TargetsRequest& r);
void from_json(const nlohmann::json& j, TargetsRequest& r);
void to_json(nlohmann::json& j, const RestartRequest& r);
void from_json(const nlohmann::json& j, RestartRequest& r);
void to_json(nlohmann::json& j, const ReloadRequest& r);
void from_json(const nlohmann::json& j, ReloadRequest& r);
void to_json(nlohmann::json& j, const ScaleRequest& r);
void from_json(const nlohmann::json& j, ScaleRequest& r);
void to_json(nlohmann::json& j, const SignalRequest& r);
void from_json(const nlohmann::json& j, SignalRequest& r);
void to_json(nlohmann::json& j, const EnvRequest& r);
void from_json(const nlohmann::json& j, EnvRequest& r);
void to_json(nlohmann::json& j, const StartRequest& r);
void from_json(const nlohmann::json& j, StartRequest& r);
void to_json(nlohmann::json& j, const SaveRequest& r);
void from_json(const nlohmann::json& j, SaveRequest& r);
void to_json(nlohmann::json& j, const UpdateRequest& r);
void from_json(const nlohmann::json& j, UpdateRequest& r);
void to_json(nlohmann::json& j, const ApplyRequest& r);
void from_json(const nlohmann::json& j, ApplyRequest& r);
void to_json(nlohmann::json& j, const ListRequest& r);
void from_json(const nlohmann::json& j, ListRequest& r);
void to_json(nlohmann::json& j, const DiagnosticRequest& r);
void from_json(const nlohmann::json& j, DiagnosticRequest& r);

// The request line's object for `verb` (without "id", which the client adds). `request` must be
// the kind the verb takes (verb_spec(verb).request); an assertion otherwise.
nlohmann::json request_json(Verb verb, const Request& request);
// The typed request of `verb` out of a checked request object.
Request read_request(Verb verb, const nlohmann::json& body);

}  // namespace herd::manager
