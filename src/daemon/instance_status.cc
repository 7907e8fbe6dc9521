#include "daemon/instance_status.h"

namespace herd::manager {

const char* status_name(InstanceStatus s) {
  switch (s) {
    case InstanceStatus::kLaunching:
      return "launching";
    case InstanceStatus::kOnline:
      return "online";
    case InstanceStatus::kStopping:
      return "stopping";
    case InstanceStatus::kStopped:
      return "stopped";
    case InstanceStatus::kErrored:
      return "errored";
    case InstanceStatus::kWaitingRestart:
      return "waiting restart";
  }
  return "unknown";
}

bool transition_allowed(InstanceStatus from, InstanceStatus to) {
  using S = InstanceStatus;
  switch (from) {
    case S::kStopped:
      return to == S::kLaunching || to == S::kErrored;
    case S::kErrored:
    case S::kWaitingRestart:
      return to == S::kLaunching || to == S::kErrored || to == S::kStopped;
    case S::kLaunching:
      return to == S::kOnline || to == S::kStopping || to == S::kStopped || to == S::kErrored ||
             to == S::kWaitingRestart;
    case S::kOnline:
      return to == S::kStopping || to == S::kStopped || to == S::kErrored ||
             to == S::kWaitingRestart;
    case S::kStopping:
      return to == S::kStopped || to == S::kErrored;
  }
  return false;
}

}  // namespace herd::manager
