// HTTP dates for Last-Modified and If-Modified-Since: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
// GMT"), the one form servers send (RFC 9110, section 5.6.7). Locale-free: no strftime.
//
// Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herd::serve {

// Seconds since the epoch (UTC) as IMF-fixdate; years 0..9999 (others are clamped to them).
std::string format_http_date(std::int64_t seconds);

// IMF-fixdate back to seconds since the epoch; nullopt for any other text, the obsolete forms
// (RFC 850, asctime) included: a date that is not read only means no 304.
std::optional<std::int64_t> parse_http_date(std::string_view text);

}  // namespace herd::serve
