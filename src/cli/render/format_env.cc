// `herd env <id>`: the environment an instance was started with, "KEY: value" a line, sorted.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/render/format.h"
#include "cli/render/table.h"

namespace herd::cli {

std::string format_env(const nlohmann::json& instance) {
  if (!instance.is_object()) return {};
  auto pm2_env = instance.find("pm2_env");
  if (pm2_env == instance.end() || !pm2_env->is_object()) return {};
  auto vars = pm2_env->find("env");
  if (vars == pm2_env->end() || !vars->is_object()) return {};
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& [key, value] : vars->items()) {
    lines.emplace_back(sanitize(key), value.is_string() ? sanitize(value.get<std::string>())
                                                        : sanitize(value.dump()));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& [key, value] : lines) out += fmt::format("{}: {}\n", key, value);
  return out;
}

}  // namespace herd::cli
