#include "herd/loop/phase_handle.h"

#include "loop/event_loop_impl.h"

namespace herd {

template <int Phase>
detail::List& PhaseHandle<Phase>::list() {
  EventLoop& l = loop();
  if constexpr (Phase == detail::kIdlePhase) return l.impl().idle_handles;
  if constexpr (Phase == detail::kPreparePhase) return l.impl().prepare_handles;
  return l.impl().check_handles;
}

template <int Phase>
void PhaseHandle<Phase>::start(Callback cb) {
  loop().check_thread("PhaseHandle::start called off the loop thread");
  cb_ = std::move(cb);
  if (is_active()) return;
  node_.owner = this;
  list().push_back(&node_);
  activate();
}

template <int Phase>
void PhaseHandle<Phase>::stop() {
  node_.unlink();
  deactivate();
}

template class PhaseHandle<detail::kIdlePhase>;
template class PhaseHandle<detail::kPreparePhase>;
template class PhaseHandle<detail::kCheckPhase>;

}  // namespace herd
