// How an app's script becomes a program to exec: PM2's interpreter rules, decided before fork so
// that a missing script or interpreter is an error the user sees at `herd start`, not a crash loop.
//
// These functions read the file system (existence, exec bits, the first line of the script) and
// nothing else; they may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::manager {

struct CommandLine {
  std::string program;            // absolute path for execve
  std::vector<std::string> argv;  // argv[0] is `program`: exec'ing it needs no PATH search
  // What runs the script, for people (`describe`, jlist's exec_interpreter): "node", "python3",
  // "bash", "sh" (a command line), or "none" (an executable run directly).
  std::string interpreter;
  std::string exec_path;  // the script's absolute path (PM2's pm_exec_path), or the
                          // command line for a shell command
};

// Resolves spec.script, relative to spec.cwd (the current directory when empty), into a command:
//  - interpreter "none": the script is exec'd directly;
//  - another interpreter: [interpreter, interpreter_args..., script, args...];
//  - by extension: .js .cjs .mjs -> node, .py -> python3, .sh -> bash, .rb -> ruby, .pl -> perl,
//    .php -> php;
//  - a "#!" line: exec'd directly (through the #! interpreter when the file is not executable);
//  - an executable file (a binary, or a script without extension): exec'd directly;
//  - a script that is no file but has spaces ("python3 -m http.server 8000"): /bin/sh -c, with
//    args passed as "$@"; one simple command is given to the shell as shell_exec_form() writes
//    it, so the program replaces the shell and its pid is the instance's;
//  - a bare name that is no file in cwd is looked up in PATH ("redis-server").
// PATH is spec.env's PATH when set (the environment the app will get), else the caller's.
// interpreter_args only apply when an interpreter runs the script.
// Errors: ENOENT naming the path when the script or interpreter is not found, EACCES when the
// script is not executable and nothing says how to run it, EISDIR, EINVAL for an empty script.
Result<CommandLine> resolve_command(const AppSpec& spec);

// A command line that is one simple command, with "exec" before its command word (after any
// leading NAME=value words): "PORT=3000 exec node app.js". The program then takes the shell's
// process, as `bash -c` does by itself for such a line (PM2 runs command lines with bash -c, so
// its pid is the program's). nullopt for anything else, which the shell runs as it is: lists,
// pipelines, redirections, subshells, compound commands, a builtin or keyword first.
std::optional<std::string> shell_exec_form(std::string_view line);

// Looks `name` up in a PATH-style list ("/usr/bin:/bin"; an empty entry is the current
// directory): the first regular, executable file. A name with a '/' is not looked up.
std::optional<std::string> find_in_path(std::string_view name, std::string_view path_list);

// The interpreter PM2 picks for a file extension (".py" -> "python3"); "" when none.
std::string_view interpreter_for_extension(std::string_view extension);

}  // namespace herd::manager
