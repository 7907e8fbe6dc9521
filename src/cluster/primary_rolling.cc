// Primary's rolling restart: each worker is replaced in turn, the new one listening on every
// address before the old one is disconnected.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>

#include "cluster/primary_impl.h"
#include "herd/base/log.h"

namespace herd::cluster::detail {

void PrimaryImpl::rolling_restart(std::function<void(Status)> done) {
  if (!started || stopping || rolling) {
    Status s = fail(EBUSY, !started   ? "rolling restart: the cluster is not started"
                           : stopping ? "rolling restart: the cluster is stopping"
                                      : "rolling restart: one is already under way");
    if (done) loop.set_immediate([done, s] { done(s); });
    return;
  }
  rolling = std::make_unique<Rolling>();
  if (done) rolling->done.push_back(std::move(done));
  for (auto& [id, live] : workers) {
    if (!live.worker->disconnecting_ && !live.worker->exited_) rolling->old_ids.push_back(id);
  }
  rolling->timer = std::make_unique<Timer>(loop);
  rolling_step();
}

void PrimaryImpl::rolling_step() {
  Rolling& r = *rolling;
  while (r.index < r.old_ids.size()) {
    Live* old = find(r.old_ids[r.index]);
    if (old == nullptr || old->worker->disconnecting_ || old->worker->exited_) {
      ++r.index;
      continue;
    }
    r.old_id = old->worker->id_;
    r.need = old->worker->listening_.size();
    r.waiting_exit = false;
    int slot = old->worker->slot_;
    Worker* fresh = fork_worker(slot);
    if (fresh == nullptr) {
      finish_rolling(fail(ECHILD, fmt::format("rolling restart: worker for slot {} did not "
                                              "start",
                                              slot)));
      return;
    }
    r.new_id = fresh->id_;
    r.timer->start(
        [this] {
          Rolling& rr = *rolling;
          if (Live* n = find(rr.new_id)) n->worker->kill(SIGKILL);
          restore_slot(rr);
          finish_rolling(fail(ETIMEDOUT, fmt::format("rolling restart: worker {} was not "
                                                     "listening after {} ms",
                                                     rr.new_id, options.listen_timeout.count())));
        },
        static_cast<std::uint64_t>(options.listen_timeout.count()));
    return;
  }
  finish_rolling({});
}

void PrimaryImpl::restore_slot(Rolling& r) {
  Live* old = find(r.old_id);
  if (old != nullptr && !old->worker->exited_) {
    slots[static_cast<std::size_t>(old->worker->slot_)].current = r.old_id;
  }
}

void PrimaryImpl::check_rolling(Worker& w) {
  if (!rolling || w.id_ != rolling->new_id || rolling->waiting_exit) return;
  if (!w.online_ || w.listening_.size() < rolling->need) return;
  rolling->timer->stop();
  rolling->waiting_exit = true;
  Live* old = find(rolling->old_id);
  if (old == nullptr || old->worker->exited_) {
    ++rolling->index;
    rolling_step();
    return;
  }
  begin_disconnect(*old, true);
}

void PrimaryImpl::on_rolling_exit(int id) {
  if (!rolling) return;
  Rolling& r = *rolling;
  if (id == r.new_id && !r.waiting_exit) {
    r.timer->stop();
    restore_slot(r);
    finish_rolling(fail(ECHILD, fmt::format("rolling restart: worker {} exited before it was "
                                            "listening",
                                            id)));
  } else if (id == r.old_id && r.waiting_exit) {
    ++r.index;
    // After this exit's callbacks, so the next worker starts from a settled state.
    loop.set_immediate([this] {
      if (rolling) rolling_step();
    });
  }
}

void PrimaryImpl::finish_rolling(Status s) {
  auto r = std::move(rolling);
  r->timer->stop();
  // The timer may be the caller: freed from the check phase.
  loop.set_immediate([r = std::shared_ptr<Rolling>(std::move(r)), s] {
    for (auto& cb : r->done) cb(s);
  });
}

}  // namespace herd::cluster::detail
