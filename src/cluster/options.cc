#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "base/usable_cpus.h"
#include "cluster/internal.h"
#include "herd/cluster/cluster.h"

namespace herd::cluster {

std::string_view to_string(Scheduling scheduling) {
  switch (scheduling) {
    case Scheduling::kRoundRobin:
      return "rr";
    case Scheduling::kShared:
      return "shared";
    case Scheduling::kReusePort:
      return "reuseport";
  }
  return "rr";
}

Result<Scheduling> parse_scheduling(std::string_view text) {
  if (text == "rr") return Scheduling::kRoundRobin;
  if (text == "shared") return Scheduling::kShared;
  if (text == "reuseport") return Scheduling::kReusePort;
  return fail(EINVAL, "scheduling \"" + std::string(text) + "\": expected rr, shared or reuseport");
}

bool is_worker() {
  const char* id = std::getenv(detail::kWorkerIdEnv);
  return id != nullptr && *id != '\0';
}

namespace detail {

int cpu_count() { return usable_cpus(); }

Result<int> parse_count(std::string_view text, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxWorkers) {
    return fail(EINVAL, std::string(what) + " \"" + std::string(text) +
                            "\": expected a number of " + "workers from 1 to " +
                            std::to_string(kMaxWorkers));
  }
  return value;
}

Result<Resolved> resolve(const Options& options) {
  Resolved r;
  if (options.workers < 0 || options.workers > kMaxWorkers) {
    return fail(EINVAL, "cluster: workers " + std::to_string(options.workers) + ": expected 0 (" +
                            "automatic) to " + std::to_string(kMaxWorkers));
  }
  if (options.workers > 0) {
    r.workers = options.workers;
  } else if (const char* env = std::getenv("HERD_WORKERS"); env != nullptr && *env != '\0') {
    auto n = parse_count(env, "HERD_WORKERS");
    if (!n) return std::unexpected(n.error());
    r.workers = *n;
  } else {
    r.workers = cpu_count();
  }
  if (options.scheduling) {
    r.scheduling = *options.scheduling;
  } else if (const char* env = std::getenv("HERD_CLUSTER_SCHED"); env != nullptr && *env != '\0') {
    auto s = parse_scheduling(env);
    if (!s) return fail(EINVAL, "HERD_CLUSTER_SCHED: " + s.error().context());
    r.scheduling = *s;
  } else {
    r.scheduling = kDefaultScheduling;
  }
  if (options.restart_factor < 1.0) {
    return fail(EINVAL, "cluster: restart_factor must be at least 1");
  }
  return r;
}

}  // namespace detail
}  // namespace herd::cluster
