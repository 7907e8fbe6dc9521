// The Supervisor's verbs about state on disk: flush (log files), save and resurrect (dump.json).
#include <fmt/format.h>

#include "herd/log.h"
#include "manager/state_file.h"
#include "manager/supervisor.h"
#include "manager/supervisor_internal.h"

namespace herd::manager {
namespace {

using detail::countdown;
using detail::verb_error;
using nlohmann::json;

}  // namespace

VerbResult Supervisor::flush(const std::vector<std::string>& targets) {
  std::vector<Instance*> list;
  if (targets.empty()) {
    for (auto& a : apps_) {
      for (auto& i : a->instances) list.push_back(i.get());
    }
  } else {
    auto r = resolve(targets);
    if (!r) return std::unexpected(r.error());
    list = *r;
  }
  json flushed = json::array();
  for (Instance* i : list) {
    for (const std::string& path : {i->out_log_path(), i->err_log_path()}) {
      auto f = log_file(path, i->app().spec);
      if (Status s = f->flush(); !s) {
        return std::unexpected(verb_error("E_IO", s.error().message()));
      }
      flushed.push_back(path);
    }
  }
  return json{{"flushed", flushed}};
}

VerbResult Supervisor::save() {
  json apps = json::array();
  for (const auto& a : apps_) {
    json j = to_json(a->spec);
    j["instances"] = std::to_string(a->instances.size());
    apps.push_back(j);
  }
  json dump = {{"version", 1}, {"apps", apps}};
  if (Status s = write_file_atomic(home_.dump(), dump.dump(2) + "\n", true); !s) {
    return std::unexpected(verb_error("E_IO", s.error().message()));
  }
  return json{{"path", home_.dump()}, {"apps", apps.size()}};
}

void Supervisor::resurrect(Reply reply) {
  json dump;
  std::string used = home_.dump();
  std::string problem;
  for (const std::string& path : {home_.dump(), home_.dump() + ".bak"}) {
    auto text = read_file(path);
    if (!text) {
      problem += (problem.empty() ? "" : "; ") + text.error().message();
      continue;
    }
    dump = json::parse(*text, nullptr, false);
    if (dump.is_discarded() || !dump.contains("apps") || !dump["apps"].is_array()) {
      problem += (problem.empty() ? "" : "; ") + path + " is not a valid dump";
      dump = json();
      continue;
    }
    used = path;
    break;
  }
  if (dump.is_null()) {
    return reply(std::unexpected(verb_error("E_NO_DUMP", "nothing to resurrect: " + problem)));
  }
  if (used != home_.dump()) log_warn("resurrect: {}; using {}", problem, used);
  std::vector<AppSpec> specs;
  for (const auto& j : dump["apps"]) {
    auto spec = app_spec_from_json(j);
    if (!spec) {
      log_error("resurrect: skipping an app of {}: {}", used, input_error_message(spec.error()));
      continue;
    }
    if (find_app(spec->name) == nullptr) specs.push_back(std::move(*spec));
  }
  auto results = std::make_shared<json>(json::array());
  auto errors = std::make_shared<std::vector<std::string>>();
  auto done = countdown(specs.size(), [results, errors, used, reply] {
    reply(json{{"from", used}, {"processes", *results}, {"errors", *errors}});
  });
  for (auto& spec : specs) {
    // By reference: a by-value VerbResult here trips g++ 12's -Wmaybe-uninitialized at -O3.
    start(std::move(spec), [results, errors, done](const VerbResult& r) {
      if (r) {
        for (const auto& e : *r) results->push_back(e);
      } else {
        errors->push_back(r.error().message);
      }
      done();
    });
  }
}

}  // namespace herd::manager
