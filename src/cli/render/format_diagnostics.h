// The pieces of the diagnostics' display (docs/diagnostics.md) besides format.h's marks and
// rows: rates, and monit's memory sparkline and share bars. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herd::cli {

// A growth rate: "+1.0mb/s", "-512b/s", "0b/s".
std::string format_rate(double bytes_per_s);

// `values` as a sparkline of at most `width` characters (the newest values, scaled between
// their minimum and maximum): "▁▂▃▅▇" with `unicode`, " .:-=+*#" otherwise. "" when empty.
std::string sparkline(const std::vector<std::uint64_t>& values, std::size_t width, bool unicode);

// A share (0..1) as a bar of `width` cells ("███░░░" with `unicode`, "###---" otherwise).
std::string share_bar(double share, std::size_t width, bool unicode);

}  // namespace herd::cli
