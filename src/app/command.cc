#include "app/command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "herd/base/fd.h"

namespace herd::manager {
namespace {

namespace fs = std::filesystem;

// What a POSIX shell uses when PATH is unset (confstr(_CS_PATH) plus /usr/local/bin).
constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

struct Extension {
  std::string_view ext;
  std::string_view interpreter;
};

// PM2's lib/API/interpreter.json, with python3 for python: Debian and most distributions ship no
// "python" any more.
constexpr std::array<Extension, 8> kExtensions = {{
    {".js", "node"},
    {".cjs", "node"},
    {".mjs", "node"},
    {".py", "python3"},
    {".sh", "bash"},
    {".rb", "ruby"},
    {".pl", "perl"},
    {".php", "php"},
}};

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string absolute_in(const std::string& cwd, std::string_view path) {
  return (fs::path(cwd) / fs::path(path)).lexically_normal().string();
}

std::string base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// The interpreter line of a script ("#!/usr/bin/env python3" -> {"/usr/bin/env", "python3"}):
// the program and at most one argument, as Linux splits it. Empty when there is none.
std::vector<std::string> read_shebang(const std::string& path) {
  Result<Fd> fd = Fd::open(path.c_str(), O_RDONLY);
  if (!fd) return {};
  char buf[256];
  ssize_t n = ::read(fd->get(), buf, sizeof buf);
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return {};
  std::string_view line(buf + 2, static_cast<std::size_t>(n) - 2);
  line = line.substr(0, line.find('\n'));
  auto trim = [](std::string_view s) {
    std::size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return std::string_view();
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
  };
  line = trim(line);
  if (line.empty()) return {};
  std::size_t space = line.find_first_of(" \t");
  std::vector<std::string> out{std::string(line.substr(0, space))};
  if (space != std::string_view::npos) {
    std::string_view arg = trim(line.substr(space));
    if (!arg.empty()) out.emplace_back(arg);
  }
  return out;
}

// The name people know a #! interpreter by: "bash" for /bin/bash, "python3" for
// "/usr/bin/env python3" (or "/usr/bin/env -S python3 -u").
std::string shebang_name(const std::vector<std::string>& shebang) {
  std::string name = base_name(shebang[0]);
  if (name == "env" && shebang.size() > 1) {
    std::string_view rest = shebang[1];
    if (rest.starts_with("-S")) rest.remove_prefix(2);
    std::size_t b = rest.find_first_not_of(" \t");
    if (b != std::string_view::npos) {
      rest = rest.substr(b);
      return base_name(rest.substr(0, rest.find_first_of(" \t")));
    }
  }
  return name;
}

// Finds the program for an interpreter given by name ("python3", found in PATH) or by path
// ("./venv/bin/python", relative to cwd).
Result<std::string> find_interpreter(const std::string& interpreter, const std::string& cwd,
                                     std::string_view path_list, const std::string& script) {
  if (interpreter.find('/') != std::string::npos) {
    std::string path = absolute_in(cwd, interpreter);
    if (is_executable_file(path)) return path;
    return fail(ENOENT,
                fmt::format("interpreter {} not found or not executable (for {})", path, script));
  }
  if (auto found = find_in_path(interpreter, path_list)) return *found;
  return fail(ENOENT, fmt::format("interpreter \"{}\" not found in PATH (needed to run {})",
                                  interpreter, script));
}

CommandLine with_interpreter(std::string program, const std::string& name, const AppSpec& spec,
                             const std::string& script) {
  CommandLine cmd;
  cmd.program = std::move(program);
  cmd.argv.push_back(cmd.program);
  cmd.argv.insert(cmd.argv.end(), spec.interpreter_args.begin(), spec.interpreter_args.end());
  cmd.argv.push_back(script);
  cmd.argv.insert(cmd.argv.end(), spec.args.begin(), spec.args.end());
  cmd.interpreter = base_name(name);
  cmd.exec_path = script;
  return cmd;
}

CommandLine direct(const std::string& script, const std::string& interpreter_name,
                   const AppSpec& spec) {
  CommandLine cmd;
  cmd.program = script;
  cmd.argv.push_back(script);
  cmd.argv.insert(cmd.argv.end(), spec.args.begin(), spec.args.end());
  cmd.interpreter = interpreter_name;
  cmd.exec_path = script;
  return cmd;
}

// Applies the rules to a script that exists as a file.
Result<CommandLine> resolve_file(const AppSpec& spec, const std::string& script,
                                 const std::string& cwd, std::string_view path_list) {
  struct stat st;
  if (::stat(script.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(EISDIR, fmt::format("script {} is a directory", script));
  }
  bool executable = is_executable_file(script);
  if (spec.interpreter == "none") {
    if (executable) return direct(script, "none", spec);
    return fail(
        EACCES,
        fmt::format("script {} is not executable (chmod +x it, or set an interpreter)", script));
  }

  std::string interpreter = spec.interpreter;
  if (interpreter.empty()) {
    std::string ext = fs::path(script).extension().string();
    interpreter = std::string(interpreter_for_extension(ext));
  }
  if (!interpreter.empty()) {
    auto program = find_interpreter(interpreter, cwd, path_list, script);
    if (!program) return std::unexpected(program.error());
    return with_interpreter(std::move(*program), interpreter, spec, script);
  }

  std::vector<std::string> shebang = read_shebang(script);
  if (!shebang.empty()) {
    // Exec'ing the file keeps its #! semantics exactly (the kernel splits the line); only when
    // the exec bit is missing does herd run the interpreter itself, as `bash script` would.
    if (executable) return direct(script, shebang_name(shebang), spec);
    CommandLine cmd;
    cmd.program = shebang[0];
    if (!is_executable_file(cmd.program)) {
      return fail(ENOENT, fmt::format("interpreter {} (from the #! line of {}) not found",
                                      cmd.program, script));
    }
    cmd.argv = shebang;
    cmd.argv.push_back(script);
    cmd.argv.insert(cmd.argv.end(), spec.args.begin(), spec.args.end());
    cmd.interpreter = shebang_name(shebang);
    cmd.exec_path = script;
    return cmd;
  }
  if (executable) return direct(script, "none", spec);
  return fail(EACCES, fmt::format("script {} is not executable and nothing says how to run it "
                                  "(no known extension, no #! line): chmod +x it or set an "
                                  "interpreter",
                                  script));
}

}  // namespace

std::optional<std::string> find_in_path(std::string_view name, std::string_view path_list) {
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  std::size_t start = 0;
  while (start <= path_list.size()) {
    std::size_t colon = path_list.find(':', start);
    if (colon == std::string_view::npos) colon = path_list.size();
    std::string_view dir = path_list.substr(start, colon - start);
    std::string candidate = dir.empty() ? std::string(name) : fmt::format("{}/{}", dir, name);
    if (is_executable_file(candidate)) {
      return dir.empty() ? fs::absolute(candidate).lexically_normal().string() : candidate;
    }
    start = colon + 1;
  }
  return std::nullopt;
}

std::optional<std::string> shell_exec_form(std::string_view line) {
  if (line.find_first_of("\n;&|()`<>") != std::string_view::npos) return std::nullopt;
  // The words the shell would not find as programs: its keywords and builtins.
  static constexpr std::string_view kShellWords[] = {
      "!",     "{",        "}",      "[[",      "case",     "do",      "done",  "elif",
      "else",  "esac",     "fi",     "for",     "function", "if",      "in",    "select",
      "then",  "time",     "until",  "while",   ".",        ":",       "alias", "bg",
      "break", "builtin",  "cd",     "command", "continue", "declare", "eval",  "exec",
      "exit",  "export",   "fg",     "getopts", "hash",     "jobs",    "let",   "local",
      "read",  "readonly", "return", "set",     "shift",    "source",  "times", "trap",
      "type",  "typeset",  "ulimit", "umask",   "unalias",  "unset",   "wait"};
  // 1 for NAME=value, -1 for one whose value has quotes or expansions (it may hold spaces, so
  // the words are not split here), 0 for any other word.
  auto assignment = [](std::string_view word) {
    auto eq = word.find('=');
    if (eq == 0 || eq == std::string_view::npos) return 0;
    for (std::size_t i = 0; i < eq; ++i) {
      char c = word[i];
      bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (i > 0 && c >= '0' && c <= '9');
      if (!ok) return 0;
    }
    return word.find_first_of("'\"\\$", eq) == std::string_view::npos ? 1 : -1;
  };
  std::size_t at = 0;
  for (;;) {
    at = line.find_first_not_of(" \t", at);
    if (at == std::string_view::npos) return std::nullopt;  // assignments alone
    std::size_t end = std::min(line.find_first_of(" \t", at), line.size());
    std::string_view word = line.substr(at, end - at);
    if (int a = assignment(word); a != 0) {
      if (a < 0) return std::nullopt;
      at = end;
      continue;
    }
    if (std::find(std::begin(kShellWords), std::end(kShellWords), word) != std::end(kShellWords)) {
      return std::nullopt;
    }
    return fmt::format("{}exec {}", line.substr(0, at), line.substr(at));
  }
}

std::string_view interpreter_for_extension(std::string_view extension) {
  for (const Extension& e : kExtensions) {
    if (e.ext == extension) return e.interpreter;
  }
  return {};
}

Result<CommandLine> resolve_command(const AppSpec& spec) {
  if (spec.script.empty()) return fail(EINVAL, "no script to run");
  std::string cwd = spec.cwd;
  if (cwd.empty()) {
    std::error_code ec;
    cwd = fs::current_path(ec).string();
  }
  std::string path_list;
  if (auto it = spec.env.find("PATH"); it != spec.env.end()) {
    path_list = it->second;
  } else if (const char* env_path = std::getenv("PATH")) {
    path_list = env_path;
  } else {
    path_list = kDefaultPath;
  }

  std::string script = absolute_in(cwd, spec.script);
  if (::access(script.c_str(), F_OK) == 0) return resolve_file(spec, script, cwd, path_list);

  bool command_line = spec.script.find_first_of(" \t") != std::string::npos;
  if (command_line && (spec.interpreter.empty() || spec.interpreter == "none")) {
    CommandLine cmd;
    cmd.program = "/bin/sh";
    cmd.argv = {"/bin/sh", "-c", shell_exec_form(spec.script).value_or(spec.script)};
    if (!spec.args.empty()) {
      // The arguments stay separate words whatever they contain: the shell gets them as $1...,
      // never pasted into the command text.
      cmd.argv[2] += " \"$@\"";
      cmd.argv.push_back("sh");
      cmd.argv.insert(cmd.argv.end(), spec.args.begin(), spec.args.end());
    }
    cmd.interpreter = "sh";
    cmd.exec_path = spec.script;
    return cmd;
  }
  if (auto found = find_in_path(spec.script, path_list)) {
    return resolve_file(spec, *found, cwd, path_list);
  }
  if (spec.script.find('/') == std::string::npos) {
    return fail(ENOENT,
                fmt::format("script not found: {} (no such file, and \"{}\" is not in PATH)",
                            script, spec.script));
  }
  return fail(ENOENT, fmt::format("script not found: {}", script));
}

}  // namespace herd::manager
