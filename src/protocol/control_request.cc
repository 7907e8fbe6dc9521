#include "protocol/control_request.h"

#include <fmt/format.h>

#include <initializer_list>

namespace herd::manager {
namespace {

using nlohmann::json;

// True when `text` nests arrays/objects deeper than `max` (brackets inside strings do not
// count). Linear, no recursion: it runs before nlohmann builds anything.
bool nests_deeper_than(std::string_view text, std::size_t max) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool is_one_of(std::string_view verb, std::initializer_list<std::string_view> verbs) {
  for (std::string_view v : verbs) {
    if (v == verb) return true;
  }
  return false;
}

std::string check_targets(const json& req) {
  if (!req.contains("targets")) return "";
  const json& t = req["targets"];
  if (!t.is_array()) return "\"targets\" must be an array of names, ids or /regex/";
  for (const json& item : t) {
    if (!item.is_string() && !item.is_number_integer()) {
      return "\"targets\" must hold strings (names, /regex/, all) or whole numbers (ids)";
    }
  }
  return "";
}

std::string need_string(const json& req, const char* field, const char* example) {
  if (!req.contains(field)) return fmt::format("\"{}\" is missing: {}", field, example);
  if (!req[field].is_string()) return fmt::format("\"{}\" must be a string: {}", field, example);
  return "";
}

}  // namespace

std::expected<json, std::string> parse_control_request(std::string_view line, json* id) {
  *id = nullptr;
  if (nests_deeper_than(line, kMaxRequestDepth)) {
    return std::unexpected(fmt::format(
        "a request may nest arrays and objects {} levels deep at most", kMaxRequestDepth));
  }
  json request = json::parse(line, nullptr, false);
  if (request.is_object() && request.contains("id")) *id = request["id"];
  if (request.is_discarded() || !request.is_object() || !request.contains("verb") ||
      !request["verb"].is_string()) {
    return std::unexpected("a request is one JSON object per line with a \"verb\"");
  }
  return request;
}

std::string check_control_request(const json& req) {
  const std::string& verb = req["verb"].get_ref<const std::string&>();
  if (is_one_of(verb, {"stop", "restart", "reload", "delete", "reset", "signal", "describe",
                       "flush", "logs"})) {
    if (std::string bad = check_targets(req); !bad.empty()) return bad;
  }
  if (verb == "restart" || verb == "reload") {
    if (req.contains("update_env")) {
      const json& env = req["update_env"];
      if (!env.is_object()) return "\"update_env\" must be an object of NAME: \"value\"";
      for (const auto& [key, value] : env.items()) {
        if (!value.is_string()) return fmt::format("\"update_env\".{} must be a string", key);
      }
    }
  }
  if (verb == "reload" && req.contains("parallel")) {
    const json& p = req["parallel"];
    if (!p.is_number_integer() || p.get<std::int64_t>() < 1 || p.get<std::int64_t>() > 1024) {
      return "\"parallel\" must be a whole number from 1 to 1024";
    }
  }
  if (verb == "scale") {
    if (std::string bad = need_string(req, "app", "the app's name"); !bad.empty()) return bad;
    if (std::string bad = need_string(req, "count", "\"N\", \"+N\" or \"-N\""); !bad.empty()) {
      return bad;
    }
  }
  if (verb == "signal") {
    if (std::string bad = need_string(req, "signal", "a name or number such as \"SIGUSR2\"");
        !bad.empty()) {
      return bad;
    }
  }
  if (verb == "env") {
    if (std::string bad = need_string(req, "target", "one app name or id"); !bad.empty()) {
      return bad;
    }
  }
  if (verb == "start") {
    if (!req.contains("apps") || !req["apps"].is_array() || req["apps"].empty()) {
      return "start needs \"apps\": [app description, ...]";
    }
    for (const json& app : req["apps"]) {
      if (!app.is_object()) return "\"apps\" must hold app descriptions (objects)";
    }
  }
  if (verb == "update") {
    if (std::string bad = need_string(req, "binary", "the absolute path of a herd binary");
        !bad.empty()) {
      return bad;
    }
  }
  if (verb == "save" && req.contains("force") && !req["force"].is_boolean()) {
    return "\"force\" must be true or false";
  }
  return "";
}

std::vector<std::string> targets_of(const nlohmann::json& req) {
  std::vector<std::string> out;
  if (req.contains("targets") && req["targets"].is_array()) {
    for (const auto& t : req["targets"]) {
      if (t.is_string()) out.push_back(t.get<std::string>());
      if (t.is_number_integer()) out.push_back(std::to_string(t.get<long>()));
    }
  }
  return out;
}

}  // namespace herd::manager
