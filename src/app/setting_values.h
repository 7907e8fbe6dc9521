// Internal to the settings table (app_settings.cc): how a setting's value is read, from JSON in
// any of PM2's forms (ecosystem files, dump.json, the control protocol) and from the text of a
// `herd start` flag. Pure functions, callable from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager::detail {

// How a value is named in "expected ..., got ..." messages: scalars as they were written (long
// strings cut short), containers by kind.
std::string describe_value(const nlohmann::json& v);
// EINVAL "expected <what>, got <v>".
std::unexpected<Error> expected(std::string_view what, const nlohmann::json& v);

// --- From JSON; EINVAL "expected ..., got ..." when the value does not fit. ---

// A string; a number is its decimal text (YAML and JS authors write `PORT: 3000`).
Result<std::string> as_string(const nlohmann::json& v);
// true/false, or "true"/"yes"/"on" and "false"/"no"/"off" as strings.
Result<bool> as_bool(const nlohmann::json& v);
// A non-negative integer up to `max`: a JSON number without a fraction, or a string of digits.
Result<std::uint64_t> as_count(const nlohmann::json& v, std::uint64_t max);
Result<int> as_int(const nlohmann::json& v);
// Milliseconds as a number, or a string in parse_duration_ms's forms.
Result<std::uint64_t> as_duration(const nlohmann::json& v);
// Bytes as a number, or a string in parse_size's forms.
Result<std::uint64_t> as_size(const nlohmann::json& v);
// An array of strings or numbers, or one string: a command line to split when `split`, else a
// single item (a path).
Result<std::vector<std::string>> as_string_list(const nlohmann::json& v, bool split);
// An object of NAME: value; non-string values become their JSON text.
Result<std::map<std::string, std::string>> as_env(const nlohmann::json& v);
// A name that can become an environment variable's: not empty, without '=' or NUL.
Result<std::string> as_env_name(const nlohmann::json& v);

// --- From a `herd start` flag's text; the errors name the flag. ---

// Milliseconds as a whole number: "<flag> takes milliseconds (a whole number), not '<v>'".
Result<std::uint64_t> flag_ms(std::string_view flag, const std::string& v);
// --watch-delay as PM2 reads it: seconds ("4", "0.5"), or with a unit ("500ms", "2s").
Result<std::uint64_t> flag_watch_delay(const std::string& v);
// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_commas(const std::string& v);
// "node_modules,*.log" or "node_modules *.log" -> {"node_modules", "*.log"}.
std::vector<std::string> split_words(const std::string& v);
// `path` made absolute against `cwd`.
std::string absolute_in(const std::string& cwd, const std::string& path);

}  // namespace herd::manager::detail
