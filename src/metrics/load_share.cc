#include "metrics/load_share.h"

namespace herd::manager {
namespace {

// Whether `mine` of `total` is more than twice the mean of the other n - 1 instances.
bool over_twice_the_others(std::uint64_t mine, std::uint64_t total, std::size_t n) {
  return static_cast<double>(mine) * static_cast<double>(n - 1) >
         2.0 * static_cast<double>(total - mine);
}

}  // namespace

std::vector<LoadShare> load_shares(const std::vector<InstanceLoad>& loads) {
  std::vector<LoadShare> out(loads.size());
  std::size_t n = 0;
  bool all_covered = true;
  std::uint64_t total = 0, first = 0, second = 0;
  double cpu = 0;
  for (const auto& l : loads) {
    if (!l.running) continue;
    ++n;
    all_covered = all_covered && l.covered;
    total += l.accepted;
    first += l.accepted_first;
    second += l.accepted_second;
    cpu += l.cpu_percent > 0 ? l.cpu_percent : 0;
  }
  bool judged = n >= 2 && all_covered && total >= kMinImbalanceConnections &&
                first * 2 >= kMinImbalanceConnections && second * 2 >= kMinImbalanceConnections;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    const auto& l = loads[i];
    if (!l.running) continue;
    if (total > 0)
      out[i].connections = static_cast<double>(l.accepted) / static_cast<double>(total);
    if (cpu > 0) out[i].cpu = (l.cpu_percent > 0 ? l.cpu_percent : 0) / cpu;
    out[i].imbalance = judged && over_twice_the_others(l.accepted, total, n) &&
                       over_twice_the_others(l.accepted_first, first, n) &&
                       over_twice_the_others(l.accepted_second, second, n);
  }
  return out;
}

}  // namespace herd::manager
