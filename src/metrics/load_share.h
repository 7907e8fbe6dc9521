// Load shares of an app's instances in cluster mode: each instance's part of the connections the
// app accepted over the load window, its part of the app's CPU, and the `imbalance` mark.
//
// `imbalance` marks an instance that took more than twice what the others took on average
// (mine > 2 × (total − mine) / (n − 1)), in the whole window and in each of its halves (so a
// burst does not mark it: the excess lasted the window), when:
//   - at least two instances run, and each was sampled over the whole window (`covered`);
//   - the app accepted at least kMinConnections in the window, and half that in each half.
// With n instances this is "more than twice its fair share" as n grows; with 2 it means more
// than two thirds of the connections (twice the fair share, 100 %, could never happen).
//
// A pure function, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace herd::manager {

struct InstanceLoad {
  bool running = false;
  bool covered = false;               // sampled over the whole window
  std::uint64_t accepted = 0;         // connections accepted in the window
  std::uint64_t accepted_first = 0;   // in its older half
  std::uint64_t accepted_second = 0;  // in its newer half
  double cpu_percent = 0;
};

struct LoadShare {
  std::optional<double> connections;  // 0..1; nullopt when not running or nothing was accepted
  std::optional<double> cpu;          // 0..1; nullopt when not running or no CPU was used
  bool imbalance = false;
};

inline constexpr std::uint64_t kMinImbalanceConnections = 20;

// One result per element of `loads`, in the same order.
std::vector<LoadShare> load_shares(const std::vector<InstanceLoad>& loads);

}  // namespace herd::manager
