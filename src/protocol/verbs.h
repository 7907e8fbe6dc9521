// The daemon's verbs as one table (docs/control-protocol.md, "Verbs"): each verb's name and
// alias, the fields its request may carry with their checks, and the typed request its handler
// reads (requests.h). The control socket's edge (control_request.h) refuses, from this table,
// an unknown verb and a field a verb does not take; the daemon maps each Verb to its handler
// (daemon/daemon_verbs.cc); the CLI builds requests by Verb.
//
// To add a verb: a Verb here, its row in verbs.cc (and a request type in requests.h if none
// fits), its handler in daemon/daemon_verbs.cc, its CLI command (cli/commands.h), its line in
// docs/control-protocol.md.
//
// Pure data; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace herd::manager {

enum class Verb : std::uint8_t {
  kPing,
  kJlist,
  kStart,
  kStop,
  kRestart,
  kReload,
  kDelete,
  kScale,
  kReset,
  kSignal,
  kDescribe,
  kEnv,
  kFlush,
  kSave,
  kResurrect,
  kLogs,
  kKill,
  kUpdate,
  kReloadLogs,
  kApply,
  kHeapdump,
  kProfile,
};
inline constexpr std::size_t kVerbCount = static_cast<std::size_t>(Verb::kProfile) + 1;

// Which typed request a verb reads: the index of its type in requests.h's Request.
enum class RequestKind : std::uint8_t {
  kEmpty,
  kTargets,
  kRestart,
  kReload,
  kScale,
  kSignal,
  kEnv,
  kStart,
  kSave,
  kUpdate,
  kApply,
  kList,
  kDiagnostic,
};
inline constexpr std::size_t kRequestKinds = static_cast<std::size_t>(RequestKind::kDiagnostic) + 1;

// How a field's value is checked (control_request.cc words each refusal).
enum class FieldCheck : std::uint8_t {
  kTargets,     // an array of strings and whole numbers
  kUpdateEnv,   // an object of strings
  kParallel,    // a whole number from 1 to 1024
  kString,      // a string
  kApps,        // a non-empty array of objects
  kBool,        // true or false
  kDurationMs,  // a whole number of milliseconds from 1 to kMaxProfileMs
};

// The longest CPU profile `herd profile` takes (5 minutes): a profile holds every sample in the
// app's memory until it stops.
inline constexpr std::int64_t kMaxProfileMs = 5 * 60 * 1000;

struct FieldSpec {
  std::string_view name;  // "" marks an unused slot
  FieldCheck check = FieldCheck::kString;
  bool required = false;
  std::string_view hint = {};  // kString: what the value is, for the refusal ("the app's name")
};

struct VerbSpec {
  Verb verb;
  std::string_view name;
  std::string_view alias;  // another name for it ("list" for jlist), or ""
  RequestKind request;
  std::array<FieldSpec, 4> fields;  // the fields it takes beside "verb" and "id"
  // Fields it does not take are ignored instead of refused: only ping, the probe any client
  // (of any version) sends first to find the daemon and its version, which must always answer.
  bool ignores_unknown_fields = false;
};

// Every verb, in the enum's order.
std::span<const VerbSpec> verb_table();
const VerbSpec& verb_spec(Verb verb);
// The verb named `name` (or its alias); nullptr for none.
const VerbSpec* find_verb(std::string_view name);
inline std::string_view verb_name(Verb verb) { return verb_spec(verb).name; }

}  // namespace herd::manager
