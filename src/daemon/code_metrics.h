// An instance's code metrics (docs/diagnostics.md, "For Node apps"): what the program measures
// of itself and reports to herd about once a second. A Node program reports through herd's
// preload (src/inject/node_preload.js) over its Node IPC channel; a libherd program through the
// notify socket (HERD_METRICS=). herd keeps the last report.
//
// A report is untrusted input: a JSON object whose known fields must each be a finite number
// from 0 to the field's bound; a report with a field out of bounds or of the wrong type is
// dropped whole (and counted), unknown fields are ignored. Nothing here throws.
//
// Threads: the daemon's loop thread only (it is a member of Instance).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace herd::manager {

class CodeMetrics {
 public:
  // One known field of a report: its name in the report and in jlist's pm2_env.code_metrics,
  // and the largest value taken.
  struct Field {
    std::string_view name;
    double max;
  };
  static constexpr std::size_t kFields = 19;
  static const std::array<Field, kFields>& fields();

  // Takes `report` (the object a program sent) as the last one, received at `now_ms` (the
  // loop's monotonic clock). `source` names who measured ("node", "libherd"). false, and the
  // previous report stays, when it is not a valid report.
  bool update(const nlohmann::json& report, std::string_view source, std::uint64_t now_ms);
  // Forgets the last report (the process ended).
  void clear();
  bool empty() const { return received_ms_ == 0; }
  // Reports dropped as invalid since the instance was created.
  std::uint64_t rejected() const { return rejected_; }

  // jlist's pm2_env.code_metrics: the last report's fields (those it had), "source", and
  // "age_ms" (how long ago it came); null when there is none.
  nlohmann::json to_json(std::uint64_t now_ms) const;
  // PM2's pm2_env.axm_monitor shape for the same figures ({"Heap Size": {"value": "12.30",
  // "unit": "MiB"}, ...}), which PM2's tools read; an empty object when there is none.
  nlohmann::json to_axm_monitor() const;

 private:
  std::array<std::optional<double>, kFields> values_{};
  std::string_view source_;
  std::uint64_t received_ms_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace herd::manager
