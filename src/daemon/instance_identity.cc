// The account an instance runs as: PM2's uid (alias user) and gid settings, for a root daemon.
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/app.h"
#include "daemon/instance.h"
#include "daemon/spawn.h"

namespace herd::manager {
namespace {

void set_var(std::vector<std::string>& env, const std::string& name, const std::string& value) {
  std::string prefix = name + "=";
  std::erase_if(env, [&](const std::string& kv) { return kv.starts_with(prefix); });
  env.push_back(prefix + value);
}

}  // namespace

Status Instance::prepare_identity(SpawnOptions& o) {
  identity_.reset();
  // Read again at every start: an account changed since `herd start` is taken as it is now.
  auto id = app_identity(app_->spec.user, app_->spec.group);
  if (!id) return std::unexpected(id.error());
  if (!*id) return {};
  identity_ = std::move(**id);
  o.switch_identity = true;
  o.uid = identity_->uid;
  o.gid = identity_->gid;
  o.groups = identity_->groups;
  // As runuser(1) (and su without -l) would: the account's own home, names and shell. PM2 sets
  // only HOME (lib/Common.js, verifyConfs).
  set_var(env_, "HOME", identity_->home);
  set_var(env_, "USER", identity_->name);
  set_var(env_, "LOGNAME", identity_->name);
  set_var(env_, "SHELL", identity_->shell);
  return {};
}

void Instance::report_identity(nlohmann::json* pm2_env) const {
  if (!identity_) return;
  (*pm2_env)["uid"] = identity_->uid;
  (*pm2_env)["gid"] = identity_->gid;
  (*pm2_env)["username"] = identity_->name;
}

}  // namespace herd::manager
