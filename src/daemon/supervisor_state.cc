// The Supervisor's verbs about state on disk: flush and reopen_logs (log files), save and
// resurrect (dump.json).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "app/depends.h"
#include "daemon/state_file.h"
#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"
#include "herd/base/log.h"

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
    for (const std::string& path : {i->out_log_path(), i->err_log_path(), i->combined_log_path()}) {
      if (path.empty() || std::find(flushed.begin(), flushed.end(), path) != flushed.end()) {
        continue;
      }
      auto f = log_file(path, i->app().spec);
      if (Status s = f->flush(); !s) {
        return std::unexpected(verb_error(ErrorCode::kIo, s.error().message()));
      }
      flushed.push_back(path);
    }
  }
  return json{{"flushed", flushed}};
}

nlohmann::json Supervisor::reopen_logs() {
  json reopened = json::array();
  for (auto& [path, weak] : log_files_) {
    auto f = weak.lock();
    if (!f) continue;
    if (Status s = f->reopen(); !s) {
      log_warn("reloadLogs: {}", s.error().message());
      continue;
    }
    reopened.push_back(path);
  }
  return reopened;
}

namespace {

// How many apps the dump at `path` (or its .bak) lists; 0 when neither is a readable dump.
std::size_t apps_in_dump(const std::string& path) {
  std::size_t most = 0;
  for (const std::string& p : {path, path + ".bak"}) {
    auto text = read_file(p);
    if (!text) continue;
    json dump = json::parse(*text, nullptr, false);
    if (dump.is_object() && dump.contains("apps") && dump["apps"].is_array()) {
      most = std::max(most, dump["apps"].size());
    }
  }
  return most;
}

}  // namespace

VerbResult Supervisor::save(bool force) {
  // next_id_ counts every instance this daemon ever created: 0 means it neither started nor
  // resurrected anything, so its empty list says nothing about what should run.
  if (!force && apps_.empty() && next_id_ == 0) {
    if (std::size_t saved = apps_in_dump(home_.dump()); saved > 0) {
      return std::unexpected(verb_error(
          ErrorCode::kSaveEmpty,
          fmt::format("this daemon runs no app yet and {} lists {} app(s): saving would replace "
                      "them with nothing. Run `herd resurrect` first, or `herd save --force` to "
                      "save the empty list",
                      home_.dump(), saved)));
    }
  }
  json apps = json::array();
  for (const auto& a : apps_) {
    json j = to_json(a->spec);
    j["instances"] = std::to_string(a->instances.size());
    apps.push_back(j);
  }
  json dump = {{"version", 1}, {"apps", apps}};
  if (Status s = write_file_atomic(home_.dump(), dump.dump(2) + "\n", true); !s) {
    return std::unexpected(verb_error(ErrorCode::kIo, s.error().message()));
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
    return reply(
        std::unexpected(verb_error(ErrorCode::kNoDump, "nothing to resurrect: " + problem)));
  }
  if (used != home_.dump()) log_warn("resurrect: {}; using {}", problem, used);
  if (dump["apps"].empty()) {
    return reply(std::unexpected(verb_error(
        ErrorCode::kNoDump, fmt::format("nothing to resurrect: {} lists no app", used))));
  }
  std::vector<AppSpec> specs;
  auto errors = std::make_shared<std::vector<std::string>>();
  json running = json::array();
  for (const auto& j : dump["apps"]) {
    auto spec = app_spec_from_json(j);
    if (!spec) {
      std::string why = input_error_message(spec.error());
      log_error("resurrect: skipping an app of {}: {}", used, why);
      errors->push_back(fmt::format("skipped an app of {}: {}", used, why));
      continue;
    }
    if (find_app(spec->name) == nullptr) {
      specs.push_back(std::move(*spec));
    } else {
      running.push_back(spec->name);
    }
  }
  start_each(std::move(specs), [errors, used, running, reply](json processes,
                                                              std::vector<std::string> failed) {
    for (auto& f : failed) errors->push_back(std::move(f));
    reply(
        json{{"from", used}, {"processes", processes}, {"errors", *errors}, {"running", running}});
  });
}

void Supervisor::start_each(
    std::vector<AppSpec> specs,
    std::function<void(nlohmann::json processes, std::vector<std::string> errors)> done) {
  specs = in_dependency_order(std::move(specs));  // resurrect keeps depends_on's order
  auto results = std::make_shared<json>(json::array());
  auto errors = std::make_shared<std::vector<std::string>>();
  auto each = countdown(specs.size(),
                        [results, errors, done = std::move(done)] { done(*results, *errors); });
  for (auto& spec : specs) {
    // By reference: a by-value VerbResult here trips g++ 12's -Wmaybe-uninitialized at -O3.
    start(std::move(spec), [results, errors, each](const VerbResult& r) {
      if (r) {
        for (const auto& e : *r) results->push_back(e);
      } else {
        errors->push_back(r.error().message);
      }
      each();
    });
  }
}

// --- crash recovery ---------------------------------------------------------------------------

void Supervisor::persist_running() {
  json apps = json::array();
  for (const auto& a : apps_) {
    bool stopped = !a->instances.empty() &&
                   std::all_of(a->instances.begin(), a->instances.end(), [](const auto& i) {
                     return i->status() == InstanceStatus::kStopped;
                   });
    // An app waiting for its dependencies is to run: its instances are stopped only until then.
    if ((stopped && a->waiting_for.empty()) || a->instances.empty()) continue;
    json j = to_json(a->spec);
    j["instances"] = std::to_string(a->instances.size());
    apps.push_back(std::move(j));
  }
  std::string text = json{{"version", 1}, {"apps", apps}}.dump(2) + "\n";
  if (text == running_written_) return;
  if (Status s = write_file_atomic(home_.running(), text, false); !s) {
    log_warn("cannot record the running apps for crash recovery: {}", s.error().message());
    return;
  }
  running_written_ = std::move(text);
}

void Supervisor::close_listeners() {
  for (auto& a : apps_) a->sockets.close_all();
}

void Supervisor::forget_running() {
  ::unlink(home_.running().c_str());
  running_written_.clear();
}

std::string Supervisor::restore_running(pid_t previous) {
  auto text = read_file(home_.running());
  if (!text) return "";
  json list = json::parse(*text, nullptr, false);
  std::vector<AppSpec> specs;
  std::vector<std::string> names;
  std::vector<std::string> registered;  // autostart: false, but they were running: start them
  if (list.is_object() && list.contains("apps") && list["apps"].is_array()) {
    for (const auto& j : list["apps"]) {
      auto spec = app_spec_from_json(j);
      if (!spec) {
        log_error("restore: skipping an app of {}: {}", home_.running(),
                  input_error_message(spec.error()));
        continue;
      }
      names.push_back(spec->name);
      if (!spec->autostart) registered.push_back(spec->name);
      spec->autostart = true;
      specs.push_back(std::move(*spec));
    }
  } else {
    log_error("restore: {} is not a list of apps; nothing restored", home_.running());
  }
  if (specs.empty()) return "";
  std::string who = previous > 0 ? fmt::format("the previous daemon (pid {}) died", previous)
                                 : std::string("the previous daemon did not stop cleanly");
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  std::string notice =
      fmt::format("{}; restored {} app(s) that were running: {}", who, names.size(), joined);
  log_warn("{}", notice);
  start_each(std::move(specs), [this, registered](json, std::vector<std::string> errors) {
    for (const auto& e : errors) log_error("restore: {}", e);
    for (const auto& name : registered) {
      if (App* app = find_app(name)) app->spec.autostart = false;
    }
    persist_running();
  });
  return notice;
}

}  // namespace herd::manager
