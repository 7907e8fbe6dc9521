// App: one app the daemon runs: its description, the sockets herd holds for it, its instances.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/app_spec.h"
#include "daemon/app_triggers.h"
#include "daemon/cluster_mode/listen_set.h"
#include "daemon/instance.h"

namespace herd::manager {

class App {
 public:
  App(std::string name, AppSpec spec) : name(std::move(name)), spec(std::move(spec)) {}
  std::string name;
  AppSpec spec;
  ListenSet sockets;  // cluster mode: bound once, held for the app's life
  std::vector<std::unique_ptr<Instance>> instances;
  // A reload's replacements still starting, and the instances they replaced (or failed
  // replacements) while they stop. Not listed by jlist; the app lives on until both are empty.
  std::vector<std::unique_ptr<Instance>> incoming;
  std::vector<std::unique_ptr<Instance>> retiring;
  // Not empty while its instances wait for depends_on ("waiting for db (errored)"): they are
  // shown as "waiting" and started once the dependencies are met (supervisor_depends.cc).
  std::string waiting_for;
  std::unique_ptr<AppTriggers> triggers;  // cron_restart and watch; set by Supervisor::start
  // Cluster mode, while a listing runs (Supervisor's ListingShares): each instance's share of
  // the app's load (Instance::load_shares_of), so that listing k instances costs k steps, not
  // k². Empty otherwise.
  std::unordered_map<const Instance*, LoadShare> listed_shares;
  // Cluster mode: exec_mode cluster (several instances), or `listen` addresses held by herd.
  bool cluster() const { return spec.exec_mode == ExecMode::kCluster || sockets.has_static(); }
  // Whether its instances get herd's bind library (docs/cluster-mode.md).
  bool injects() const { return spec.exec_mode == ExecMode::kCluster && spec.inject; }
  bool idle() const { return instances.empty() && incoming.empty() && retiring.empty(); }
};

}  // namespace herd::manager
