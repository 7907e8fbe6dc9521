// Helpers shared by the Supervisor's source files (not part of its interface).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/usable_cpus.h"
#include "daemon/supervisor.h"

namespace herd::manager::detail {

inline VerbError verb_error(ErrorCode code, std::string message) {
  return VerbError{code, std::move(message)};
}

// The CPUs `-i max` counts: this process's affinity mask and cgroup quota (usable_cpus.h), read
// at every start, in the daemon, where the apps run.
inline int cpu_count() { return usable_cpus(); }

// Runs `done` once `n` countdowns have happened (immediately for n == 0).
inline std::function<void()> countdown(std::size_t n, std::function<void()> done) {
  if (n == 0) {
    done();
    return [] {};
  }
  auto left = std::make_shared<std::size_t>(n);
  auto fn = std::make_shared<std::function<void()>>(std::move(done));
  return [left, fn] {
    if (--*left == 0) (*fn)();
  };
}

}  // namespace herd::manager::detail
