#include "protocol/error_code.h"

#include <array>
#include <utility>

namespace herd::manager {
namespace {

// Every code with its text, in the enum's order (checked below).
constexpr std::array<std::pair<ErrorCode, std::string_view>, 20> kCodes = {{
    {ErrorCode::kBadRequest, "E_BAD_REQUEST"},
    {ErrorCode::kInternal, "E_INTERNAL"},
    {ErrorCode::kUnknownVerb, "E_UNKNOWN_VERB"},
    {ErrorCode::kNoTarget, "E_NO_TARGET"},
    {ErrorCode::kUnknownTarget, "E_UNKNOWN_TARGET"},
    {ErrorCode::kBadTarget, "E_BAD_TARGET"},
    {ErrorCode::kAppExists, "E_APP_EXISTS"},
    {ErrorCode::kSpawn, "E_SPAWN"},
    {ErrorCode::kListen, "E_LISTEN"},
    {ErrorCode::kSignal, "E_SIGNAL"},
    {ErrorCode::kReload, "E_RELOAD"},
    {ErrorCode::kIo, "E_IO"},
    {ErrorCode::kNoDump, "E_NO_DUMP"},
    {ErrorCode::kSaveEmpty, "E_SAVE_EMPTY"},
    {ErrorCode::kPermission, "E_PERMISSION"},
    {ErrorCode::kQuitting, "E_QUITTING"},
    {ErrorCode::kUpdate, "E_UPDATE"},
    {ErrorCode::kBusy, "E_BUSY"},
    {ErrorCode::kClient, "E_CLIENT"},
    {ErrorCode::kUnknown, "E_UNKNOWN"},
}};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].first) != i) return false;
  }
  return static_cast<std::size_t>(ErrorCode::kUnknown) + 1 == kCodes.size();
}
static_assert(in_enum_order(), "kCodes lists every ErrorCode once, in the enum's order");

}  // namespace

std::string_view error_code_text(ErrorCode code) {
  return kCodes[static_cast<std::size_t>(code)].second;
}

std::optional<ErrorCode> error_code_from_text(std::string_view text) {
  for (const auto& [code, t] : kCodes) {
    if (t == text) return code;
  }
  return std::nullopt;
}

void to_json(nlohmann::json& j, const ErrorReply& e) {
  j = {{"code", error_code_text(e.code)}, {"message", e.message}};
}

void from_json(const nlohmann::json& j, ErrorReply& e) {
  e = ErrorReply{};
  if (!j.is_object()) return;
  if (auto c = j.find("code"); c != j.end() && c->is_string()) {
    e.code = error_code_from_text(c->get_ref<const std::string&>()).value_or(ErrorCode::kUnknown);
  }
  if (auto m = j.find("message"); m != j.end() && m->is_string()) e.message = m->get<std::string>();
}

}  // namespace herd::manager
