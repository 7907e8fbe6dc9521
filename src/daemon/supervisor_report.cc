// The Supervisor's reporting verbs: jlist, describe, env (each instance reports itself:
// Instance::to_json in instance_report.cc).
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "daemon/app.h"
#include "daemon/health/health_monitor.h"
#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"
#include "herd/base/log.h"

namespace herd::manager {

using detail::verb_error;
using nlohmann::json;

namespace {

// For the length of one listing: every cluster-mode app's load shares computed once
// (App::listed_shares), not once per instance listed; cleared when the listing ends.
class ListingShares {
 public:
  explicit ListingShares(const std::vector<std::unique_ptr<App>>& apps) {
    for (const auto& a : apps) {
      if (!a->cluster() || !a->listed_shares.empty()) continue;
      a->listed_shares = Instance::load_shares_of(*a);
      filled_.push_back(a.get());
    }
  }
  ~ListingShares() {
    for (App* a : filled_) a->listed_shares.clear();
  }
  ListingShares(const ListingShares&) = delete;
  ListingShares& operator=(const ListingShares&) = delete;

 private:
  std::vector<App*> filled_;
};

}  // namespace

VerbResult Supervisor::list_result(const std::vector<Instance*>& list,
                                   Instance::Detail detail) const {
  ListingShares shares(apps_);
  json out = json::array();
  for (Instance* i : list) out.push_back(i->to_json(detail));
  return out;
}

std::vector<Instance*> Supervisor::by_id() const {
  std::vector<Instance*> all;
  for (const auto& a : apps_) {
    for (const auto& i : a->instances) all.push_back(i.get());
  }
  std::sort(all.begin(), all.end(), [](Instance* x, Instance* y) { return x->id() < y->id(); });
  return all;
}

std::set<App*> Supervisor::apps_of(const std::vector<Instance*>& list) {
  std::set<App*> apps;
  for (Instance* i : list) apps.insert(&i->app());
  return apps;
}

json Supervisor::jlist(Instance::Detail detail) const { return *list_result(by_id(), detail); }

std::size_t Supervisor::process_count() const {
  std::size_t n = 0;
  for (const auto& a : apps_) n += a->instances.size();
  return n;
}

std::string Supervisor::jlist_text(Instance::Detail detail) const {
  ListingShares shares(apps_);
  std::string out = "[";
  std::size_t& expected = listing_sizes_[static_cast<std::size_t>(detail)];
  out.reserve(expected);
  for (Instance* i : by_id()) {
    if (out.size() > 1) out += ',';
    i->append_text(detail, &out);
  }
  out += ']';
  expected = out.size() + out.size() / 8;  // the next one sized at once: no regrowing
  return out;
}

std::string Supervisor::not_ready() const {
  constexpr int kNamed = 5;  // a short answer, however many apps there are
  std::string out;
  int count = 0;
  for (const auto& a : apps_) {
    for (const auto& i : a->instances) {
      InstanceStatus s = i->status();
      // An online instance whose health check fails is not ready either, nor an app waiting
      // for its dependencies (it is to run).
      const HealthMonitor* h = i->health();
      bool unhealthy = h != nullptr && h->state() == HealthMonitor::State::kUnhealthy;
      bool waiting = !a->waiting_for.empty();
      if (!waiting &&
          ((s == InstanceStatus::kOnline && !unhealthy) || s == InstanceStatus::kStopped)) {
        continue;
      }
      if (++count <= kNamed) {
        out += fmt::format("{}{} {} {}", count == 1 ? "not ready: " : ", ", a->name, i->id(),
                           waiting                        ? "waiting"
                           : s == InstanceStatus::kOnline ? "unhealthy"
                                                          : status_name(s));
      }
    }
  }
  if (count > kNamed) out += fmt::format(" and {} more", count - kNamed);
  return out;
}

VerbResult Supervisor::describe(const std::vector<std::string>& targets) const {
  auto list = resolve(targets);
  if (!list) return std::unexpected(list.error());
  return list_result(*list);
}

VerbResult Supervisor::env_of(const std::string& target) const {
  auto list = resolve({target});
  if (!list) return std::unexpected(list.error());
  if (list->size() != 1) {
    return std::unexpected(verb_error(
        ErrorCode::kBadTarget,
        fmt::format("'{}' matches {} processes; env takes one id", target, list->size())));
  }
  return (*list)[0]->env_json();
}

}  // namespace herd::manager
