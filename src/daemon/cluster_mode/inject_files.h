// What herd injects into the instances of an app in cluster mode (docs/cluster-mode.md), and
// where it finds it: libherd-inject.so (LD_PRELOAD) and herd-node-preload.js (node --require),
// in <the herd binary's directory>/../lib/herd/, or in $HERD_INJECT_DIR when that is set.
//
// Pure file-system reads; any thread.
#pragma once

#include <optional>
#include <string>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::manager {

struct InjectFiles {
  std::string library;       // absolute path of libherd-inject.so
  std::string node_preload;  // absolute path of herd-node-preload.js
};

// The files, checked to exist; ENOENT naming the directory looked in otherwise.
Result<InjectFiles> find_inject_files();

// Whether `program` is an ELF executable without a program interpreter (statically linked):
// such a program never calls libc's bind() through the dynamic linker, so the preload library
// cannot reach it. false for anything that is not an ELF file (scripts) or cannot be read.
bool is_static_executable(const std::string& program);

// What `herd start` says once about an app whose instances herd's bind library cannot reach:
// cluster mode with injection, no `listen`, and a statically linked program. nullopt otherwise.
std::optional<std::string> injection_warning(const AppSpec& spec);

}  // namespace herd::manager
