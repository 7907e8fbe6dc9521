#include "protocol/control_request.h"

#include <fmt/format.h>

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

std::string check_targets(const json& t) {
  if (!t.is_array()) return "\"targets\" must be an array of names, ids or /regex/";
  for (const json& item : t) {
    if (!item.is_string() && !item.is_number_integer()) {
      return "\"targets\" must hold strings (names, /regex/, all) or whole numbers (ids)";
    }
  }
  return "";
}

std::string check_update_env(const json& env) {
  if (!env.is_object()) return "\"update_env\" must be an object of NAME: \"value\"";
  for (const auto& [key, value] : env.items()) {
    if (!value.is_string()) return fmt::format("\"update_env\".{} must be a string", key);
  }
  return "";
}

std::string check_apps(const json& apps) {
  if (!apps.is_array() || apps.empty()) return "start needs \"apps\": [app description, ...]";
  for (const json& app : apps) {
    if (!app.is_object()) return "\"apps\" must hold app descriptions (objects)";
  }
  return "";
}

// The refusal of `value` for `field`, or "".
std::string check_value(const FieldSpec& field, const json& value) {
  switch (field.check) {
    case FieldCheck::kTargets:
      return check_targets(value);
    case FieldCheck::kUpdateEnv:
      return check_update_env(value);
    case FieldCheck::kParallel:
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
          value.get<std::int64_t>() > 1024) {
        return "\"parallel\" must be a whole number from 1 to 1024";
      }
      return "";
    case FieldCheck::kString:
      if (!value.is_string())
        return fmt::format("\"{}\" must be a string: {}", field.name, field.hint);
      return "";
    case FieldCheck::kApps:
      return check_apps(value);
    case FieldCheck::kBool:
      if (!value.is_boolean()) return fmt::format("\"{}\" must be true or false", field.name);
      return "";
    case FieldCheck::kDurationMs:
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
          value.get<std::int64_t>() > kMaxProfileMs) {
        return fmt::format("\"{}\" must be a whole number of milliseconds from 1 to {} ({} min)",
                           field.name, kMaxProfileMs, kMaxProfileMs / 60000);
      }
      return "";
  }
  return "";
}

std::string missing(const FieldSpec& field) {
  if (field.check == FieldCheck::kApps) return check_apps(json());
  if (field.hint.empty()) return fmt::format("\"{}\" is missing", field.name);
  return fmt::format("\"{}\" is missing: {}", field.name, field.hint);
}

// "targets, update_env", or "none".
std::string field_names(const VerbSpec& verb) {
  std::string names;
  for (const FieldSpec& f : verb.fields) {
    if (f.name.empty()) continue;
    if (!names.empty()) names += ", ";
    names += f.name;
  }
  return names.empty() ? "none" : names;
}

const FieldSpec* find_field(const VerbSpec& verb, std::string_view name) {
  for (const FieldSpec& f : verb.fields) {
    if (!f.name.empty() && f.name == name) return &f;
  }
  return nullptr;
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
  const VerbSpec* verb = find_verb(req["verb"].get_ref<const std::string&>());
  if (verb == nullptr) return "";
  for (const FieldSpec& field : verb->fields) {
    if (field.name.empty()) continue;
    auto value = req.find(field.name);
    if (value == req.end()) {
      if (field.required) return missing(field);
      continue;
    }
    if (std::string bad = check_value(field, *value); !bad.empty()) return bad;
  }
  if (verb->ignores_unknown_fields) return "";
  for (const auto& [name, value] : req.items()) {
    if (name == "verb" || name == "id" || find_field(*verb, name) != nullptr) continue;
    return fmt::format("unknown field \"{}\" for verb '{}' (it takes: {})", name,
                       req["verb"].get_ref<const std::string&>(), field_names(*verb));
  }
  return "";
}

std::expected<ControlRequest, RefusedRequest> read_control_request(std::string_view line) {
  json id;
  auto request = parse_control_request(line, &id);
  if (!request)
    return std::unexpected(RefusedRequest{id, {ErrorCode::kBadRequest, request.error()}});
  const std::string& name = (*request)["verb"].get_ref<const std::string&>();
  const VerbSpec* verb = find_verb(name);
  if (verb == nullptr) {
    return std::unexpected(
        RefusedRequest{id, {ErrorCode::kUnknownVerb, fmt::format("unknown verb '{}'", name)}});
  }
  if (std::string bad = check_control_request(*request); !bad.empty()) {
    return std::unexpected(RefusedRequest{id, {ErrorCode::kBadRequest, std::move(bad)}});
  }
  return ControlRequest{verb, std::move(id), std::move(*request)};
}

}  // namespace herd::manager
