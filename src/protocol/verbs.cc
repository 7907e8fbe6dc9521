#include "protocol/verbs.h"

namespace herd::manager {
namespace {

constexpr FieldSpec kTargets{"targets", FieldCheck::kTargets};
constexpr FieldSpec kUpdateEnv{"update_env", FieldCheck::kUpdateEnv};
constexpr FieldSpec kAppEnv{"app_env", FieldCheck::kUpdateEnv};

// The verbs, in the enum's order (checked below). A data table: one row per verb.
constexpr std::array<VerbSpec, kVerbCount> kVerbs = {{
    {Verb::kPing, "ping", "", RequestKind::kEmpty, {}, true},
    {Verb::kJlist,
     "jlist",
     "list",
     RequestKind::kList,
     {{{"brief", FieldCheck::kBool}, {"rows", FieldCheck::kBool}}}},
    {Verb::kStart, "start", "", RequestKind::kStart, {{{"apps", FieldCheck::kApps, true}}}},
    {Verb::kStop, "stop", "", RequestKind::kTargets, {{kTargets}}},
    {Verb::kRestart, "restart", "", RequestKind::kRestart, {{kTargets, kUpdateEnv, kAppEnv}}},
    {Verb::kReload,
     "reload",
     "",
     RequestKind::kReload,
     {{kTargets, kUpdateEnv, kAppEnv, {"parallel", FieldCheck::kParallel}}}},
    {Verb::kDelete, "delete", "", RequestKind::kTargets, {{kTargets}}},
    {Verb::kScale,
     "scale",
     "",
     RequestKind::kScale,
     {{{"app", FieldCheck::kString, true, "the app's name"},
       {"count", FieldCheck::kString, true, "\"N\", \"+N\" or \"-N\""}}}},
    {Verb::kReset, "reset", "", RequestKind::kTargets, {{kTargets}}},
    {Verb::kSignal,
     "signal",
     "",
     RequestKind::kSignal,
     {{{"signal", FieldCheck::kString, true, "a name or number such as \"SIGUSR2\""}, kTargets}}},
    {Verb::kDescribe, "describe", "", RequestKind::kTargets, {{kTargets}}},
    {Verb::kEnv,
     "env",
     "",
     RequestKind::kEnv,
     {{{"target", FieldCheck::kString, true, "one app name or id"}}}},
    {Verb::kFlush, "flush", "", RequestKind::kTargets, {{kTargets}}},
    {Verb::kSave, "save", "", RequestKind::kSave, {{{"force", FieldCheck::kBool}}}},
    {Verb::kResurrect, "resurrect", "", RequestKind::kEmpty, {}},
    {Verb::kLogs, "logs", "", RequestKind::kTargets, {{kTargets}}},
    {Verb::kKill, "kill", "", RequestKind::kEmpty, {}},
    {Verb::kUpdate,
     "update",
     "",
     RequestKind::kUpdate,
     {{{"binary", FieldCheck::kString, true, "the absolute path of a herd binary"}}}},
    {Verb::kReloadLogs, "reloadLogs", "", RequestKind::kEmpty, {}},
    {Verb::kApply,
     "apply",
     "",
     RequestKind::kApply,
     {{{"apps", FieldCheck::kApps, true},
       {"prune", FieldCheck::kBool},
       {"unchanged", FieldCheck::kString, false, "\"restart\" or \"reload\""},
       {"parallel", FieldCheck::kParallel}}}},
    {Verb::kHeapdump,
     "heapdump",
     "",
     RequestKind::kDiagnostic,
     {{{"target", FieldCheck::kString, true, "one app name or id"},
       {"file", FieldCheck::kString, true, "the absolute path of the file to write"}}}},
    {Verb::kProfile,
     "profile",
     "",
     RequestKind::kDiagnostic,
     {{{"target", FieldCheck::kString, true, "one app name or id"},
       {"file", FieldCheck::kString, true, "the absolute path of the file to write"},
       {"duration_ms", FieldCheck::kDurationMs, true}}}},
}};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kVerbs.size(); ++i) {
    if (static_cast<std::size_t>(kVerbs[i].verb) != i) return false;
  }
  return true;
}
static_assert(in_enum_order(), "kVerbs lists every Verb once, in the enum's order");

}  // namespace

std::span<const VerbSpec> verb_table() { return kVerbs; }

const VerbSpec& verb_spec(Verb verb) { return kVerbs[static_cast<std::size_t>(verb)]; }

const VerbSpec* find_verb(std::string_view name) {
  for (const VerbSpec& v : kVerbs) {
    if (v.name == name || (!v.alias.empty() && v.alias == name)) return &v;
  }
  return nullptr;
}

}  // namespace herd::manager
