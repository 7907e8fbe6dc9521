#include "protocol/requests.h"

#include <cassert>
#include <cstddef>
#include <utility>

namespace herd::manager {
namespace {

using nlohmann::json;

constexpr const char* kTargets = "targets";
constexpr const char* kUpdateEnv = "update_env";
constexpr const char* kAppEnv = "app_env";

// Ids may come as numbers: every target reads as a string.
std::vector<std::string> read_targets(const json& j) {
  std::vector<std::string> out;
  auto t = j.find(kTargets);
  if (t == j.end() || !t->is_array()) return out;
  for (const json& item : *t) {
    if (item.is_string()) out.push_back(item.get<std::string>());
    if (item.is_number_integer()) out.push_back(std::to_string(item.get<long>()));
  }
  return out;
}

std::string read_string(const json& j, const char* field) {
  auto f = j.find(field);
  return f != j.end() && f->is_string() ? f->get<std::string>() : std::string();
}

std::optional<std::map<std::string, std::string>> read_env(const json& j,
                                                           const char* field = kUpdateEnv) {
  auto e = j.find(field);
  if (e == j.end() || !e->is_object()) return std::nullopt;
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : e->items()) {
    if (v.is_string()) env[k] = v.get<std::string>();
  }
  return env;
}

void write_env(json& j, const std::optional<std::map<std::string, std::string>>& env,
               const char* field = kUpdateEnv) {
  if (env) j[field] = *env;
}

template <std::size_t... I>
Request read_kind(std::size_t kind, const json& body, std::index_sequence<I...>) {
  using Reader = Request (*)(const json&);
  static constexpr Reader kReaders[] = {
      [](const json& j) -> Request { return j.get<std::variant_alternative_t<I, Request>>(); }...};
  return kReaders[kind](body);
}

}  // namespace

void to_json(json& j, const EmptyRequest&) { j = json::object(); }
void from_json(const json&, EmptyRequest&) {}

void to_json(json& j, const TargetsRequest& r) { j = {{kTargets, r.targets}}; }
void from_json(const json& j, TargetsRequest& r) { r.targets = read_targets(j); }

void to_json(json& j, const RestartRequest& r) {
  j = {{kTargets, r.targets}};
  write_env(j, r.update_env);
  write_env(j, r.app_env, kAppEnv);
}
void from_json(const json& j, RestartRequest& r) {
  r.targets = read_targets(j);
  r.update_env = read_env(j);
  r.app_env = read_env(j, kAppEnv);
}

void to_json(json& j, const ReloadRequest& r) {
  j = {{kTargets, r.targets}};
  write_env(j, r.update_env);
  write_env(j, r.app_env, kAppEnv);
  if (r.parallel) j["parallel"] = *r.parallel;
}
void from_json(const json& j, ReloadRequest& r) {
  r.targets = read_targets(j);
  r.update_env = read_env(j);
  r.app_env = read_env(j, kAppEnv);
  r.parallel.reset();
  if (auto p = j.find("parallel"); p != j.end() && p->is_number_integer()) {
    r.parallel = p->get<int>();
  }
}

void to_json(json& j, const ScaleRequest& r) { j = {{"app", r.app}, {"count", r.count}}; }
void from_json(const json& j, ScaleRequest& r) {
  r.app = read_string(j, "app");
  r.count = read_string(j, "count");
}

void to_json(json& j, const SignalRequest& r) { j = {{"signal", r.signal}, {kTargets, r.targets}}; }
void from_json(const json& j, SignalRequest& r) {
  r.signal = read_string(j, "signal");
  r.targets = read_targets(j);
}

void to_json(json& j, const EnvRequest& r) { j = {{"target", r.target}}; }
void from_json(const json& j, EnvRequest& r) { r.target = read_string(j, "target"); }

void to_json(json& j, const StartRequest& r) { j = {{"apps", r.apps}}; }
void from_json(const json& j, StartRequest& r) {
  auto a = j.find("apps");
  r.apps = a != j.end() && a->is_array() ? *a : json::array();
}

void to_json(json& j, const ListRequest& r) {
  j = json::object();
  if (r.brief) j["brief"] = true;
  if (r.rows) j["rows"] = true;
}
void from_json(const json& j, ListRequest& r) {
  auto flag = [&j](const char* key) {
    auto f = j.find(key);
    return f != j.end() && f->is_boolean() && f->get<bool>();
  };
  r.brief = flag("brief");
  r.rows = flag("rows");
}

void to_json(json& j, const SaveRequest& r) { j = {{"force", r.force}}; }
void from_json(const json& j, SaveRequest& r) {
  auto f = j.find("force");
  r.force = f != j.end() && f->is_boolean() && f->get<bool>();
}

void to_json(json& j, const UpdateRequest& r) { j = {{"binary", r.binary}}; }
void from_json(const json& j, UpdateRequest& r) { r.binary = read_string(j, "binary"); }

void to_json(json& j, const ApplyRequest& r) {
  j = {{"apps", r.apps}};
  if (r.prune) j["prune"] = true;
  if (!r.unchanged.empty()) j["unchanged"] = r.unchanged;
  if (r.parallel) j["parallel"] = *r.parallel;
}
void from_json(const json& j, ApplyRequest& r) {
  auto a = j.find("apps");
  r.apps = a != j.end() && a->is_array() ? *a : json::array();
  auto p = j.find("prune");
  r.prune = p != j.end() && p->is_boolean() && p->get<bool>();
  r.unchanged = read_string(j, "unchanged");
  r.parallel.reset();
  if (auto n = j.find("parallel"); n != j.end() && n->is_number_integer()) {
    r.parallel = n->get<int>();
  }
}

void to_json(json& j, const DiagnosticRequest& r) {
  j = {{"target", r.target}, {"file", r.file}};
  if (r.duration_ms > 0) j["duration_ms"] = r.duration_ms;
}
void from_json(const json& j, DiagnosticRequest& r) {
  r.target = read_string(j, "target");
  r.file = read_string(j, "file");
  auto d = j.find("duration_ms");
  r.duration_ms = d != j.end() && d->is_number_integer() ? d->get<std::int64_t>() : 0;
}

json request_json(Verb verb, const Request& request) {
  assert(request.index() == static_cast<std::size_t>(verb_spec(verb).request));
  json j = std::visit([](const auto& r) { return json(r); }, request);
  j["verb"] = verb_name(verb);
  return j;
}

Request read_request(Verb verb, const json& body) {
  return read_kind(static_cast<std::size_t>(verb_spec(verb).request), body,
                   std::make_index_sequence<kRequestKinds>());
}

}  // namespace herd::manager
