// Internal to ecosystem.cc: turns the text of an ecosystem file (JSON, YAML, or JavaScript through
// node) into one JSON document, remembering where in the file each key came from so that later
// messages can name the line.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager::detail {

struct SourcePos {
  int line = 0;  // 1-based; 0 = unknown
  int column = 0;
};

struct SourceDoc {
  nlohmann::json root;
  // The path of a value ("apps[0].instances", see child_path) -> where its key starts; for an
  // array element ("apps[1]"), where the element starts. Empty for JavaScript files.
  std::map<std::string, SourcePos> positions;
  // Keys given twice in one object (the last one wins): their paths and positions.
  std::vector<std::pair<std::string, SourcePos>> duplicate_keys;
};

// Arrays and objects nested deeper than this are refused (an ecosystem file needs 4 levels or
// so; a deeper one is a mistake or an attack, and costs time per level).
inline constexpr std::size_t kMaxEcosystemDepth = 64;

// Errors are EINVAL "<name>:<line>:<column>: <reason> (in apps[0].watch)"; "nested deeper than
// 64 levels" for a file deeper than kMaxEcosystemDepth.
Result<SourceDoc> read_json(std::string_view text, std::string_view name);
Result<SourceDoc> read_yaml(std::string_view text, std::string_view name);
// Runs `node` (looked up in env's PATH) to evaluate the module at `path` and print its exports.
// ENOENT "<name> needs node (not found in PATH)"; EINVAL with node's own report (which names
// the line) when evaluation fails; ETIMEDOUT after 10 s.
Result<SourceDoc> read_js(const std::string& path, std::string_view name,
                          const std::map<std::string, std::string>& env);

// 1-based line and column of byte `offset` in `text`.
SourcePos offset_to_pos(std::string_view text, std::size_t offset);
// Paths for people: child_path("apps[0]", "env") = "apps[0].env", child_path("", "apps") =
// "apps", element_path("apps", 1) = "apps[1]".
std::string child_path(std::string_view parent, std::string_view key);
std::string element_path(std::string_view parent, std::size_t index);

}  // namespace herd::manager::detail
