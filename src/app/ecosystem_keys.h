// Internal to ecosystem.cc: PM2's vocabulary of app keys (lib/API/schema.json), as herd reads it.
#pragma once

#include <string>
#include <string_view>

namespace herd::manager::detail {

enum class KeyKind {
  kField,       // an AppSpec field under its own name ("instances")
  kAlias,       // PM2's other spelling of a field ("node_args" for interpreter_args)
  kEnvSection,  // env_<name>, chosen by --env <name>
  kMapped,      // read by the loader itself: env, port, append_env_to_name, filter_env, ...
  kIgnored,     // PM2 has it, herd has no use for it ("source_map_support")
  kUnknown,     // nobody knows it
};

struct KeyClass {
  KeyKind kind;
  // kField, kAlias: the field's name. kEnvSection: the env name ("production").
  // kIgnored: why it does nothing ("is Node-specific"). kUnknown: the closest known key, or "".
  std::string detail;
};

KeyClass classify_key(std::string_view key);

}  // namespace herd::manager::detail
