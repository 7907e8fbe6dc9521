#include "app/command.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "app_spec_util.h"

namespace herd::manager {
namespace {

using test::TempDir;
using test::with_dir;

// A directory with one script of each kind, and a bin/ of stand-in interpreters that PATH points
// to, so the results do not depend on what this machine has installed.
class CommandTest : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"node", "python3", "bash", "ruby", "perl", "php", "tool"}) {
      dir_.write(std::string("bin/") + name, "#!/bin/sh\nexit 0\n", 0755);
    }
    for (const char* name : {"app.js", "app.cjs", "app.mjs", "app.py", "run.sh", "app.rb", "app.pl",
                             "index.php", "sub/app.py"}) {
      dir_.write(name, "// a script\n");
    }
    std::filesystem::copy_file("/bin/true", dir_ / "binary");
    dir_.write("shebang", "#!/bin/sh\necho hi\n", 0755);
    dir_.write("shebang_noexec", "#!/bin/sh -e\necho hi\n", 0644);
    dir_.write("env_noexec", "#!/usr/bin/env python3\nprint(1)\n", 0644);
    dir_.write("exec.py", "print(1)\n", 0755);
    dir_.write("plain", "echo hi\n", 0644);
    dir_.write("my app.sh", "echo hi\n", 0644);
    dir_.write("odd.ext", "#!/bin/sh\n", 0755);
    std::filesystem::create_directories(dir_ / "adir");
  }

  AppSpec spec(const std::string& script) const {
    AppSpec s;
    s.script = script;
    s.cwd = dir_.path();
    s.env["PATH"] = dir_ / "bin";
    return s;
  }

  TempDir dir_;
};

TEST_F(CommandTest, PicksTheInterpreterLikePm2) {
  struct Case {
    const char* script;
    const char* interpreter;  // spec.interpreter
    std::vector<std::string> interpreter_args;
    std::vector<std::string> args;
    std::vector<std::string> want_argv;  // "$D" = the directory
    const char* want_interpreter;
  };
  const Case cases[] = {
      {"app.js", "", {}, {}, {"$D/bin/node", "$D/app.js"}, "node"},
      {"./app.cjs", "", {}, {}, {"$D/bin/node", "$D/app.cjs"}, "node"},
      {"app.mjs",
       "",
       {"--inspect"},
       {"a"},
       {"$D/bin/node", "--inspect", "$D/app.mjs", "a"},
       "node"},
      {"app.py",
       "",
       {"-u"},
       {"--port", "80"},
       {"$D/bin/python3", "-u", "$D/app.py", "--port", "80"},
       "python3"},
      {"sub/../sub/app.py", "", {}, {}, {"$D/bin/python3", "$D/sub/app.py"}, "python3"},
      {"run.sh", "", {}, {}, {"$D/bin/bash", "$D/run.sh"}, "bash"},
      {"app.rb", "", {}, {}, {"$D/bin/ruby", "$D/app.rb"}, "ruby"},
      {"app.pl", "", {}, {}, {"$D/bin/perl", "$D/app.pl"}, "perl"},
      {"index.php", "", {}, {}, {"$D/bin/php", "$D/index.php"}, "php"},
      // The extension wins over the exec bit, as in PM2.
      {"exec.py", "", {}, {}, {"$D/bin/python3", "$D/exec.py"}, "python3"},
      // An explicit interpreter wins over the extension, by name or by path.
      {"app.js", "bash", {}, {}, {"$D/bin/bash", "$D/app.js"}, "bash"},
      {"plain", "./bin/ruby", {}, {}, {"$D/bin/ruby", "$D/plain"}, "ruby"},
      // Executables run directly; interpreter_args do not apply to them.
      {"binary", "", {"-u"}, {"x"}, {"$D/binary", "x"}, "none"},
      {"shebang", "", {}, {"x"}, {"$D/shebang", "x"}, "sh"},
      {"odd.ext", "", {}, {}, {"$D/odd.ext"}, "sh"},
      {"app.js", "none", {}, {}, {}, nullptr},  // not executable: an error, see below
      {"shebang", "none", {}, {}, {"$D/shebang"}, "none"},
      // A #! script without the exec bit runs through its #! line.
      {"shebang_noexec", "", {}, {"x"}, {"/bin/sh", "-e", "$D/shebang_noexec", "x"}, "sh"},
      {"env_noexec", "", {}, {}, {"/usr/bin/env", "python3", "$D/env_noexec"}, "python3"},
      // A name that is no file here is looked up in PATH.
      {"tool", "", {}, {"-v"}, {"$D/bin/tool", "-v"}, "sh"},
      // A command line with spaces runs in a shell; args stay separate words.
      {"python3 -m http.server 8000",
       "",
       {},
       {},
       {"/bin/sh", "-c", "exec python3 -m http.server 8000"},
       "sh"},
      {"echo", "", {}, {}, {}, nullptr},  // not in this PATH: an error
      {"node -e 'x'",
       "",
       {},
       {"a b", "$x"},
       {"/bin/sh", "-c", "exec node -e 'x' \"$@\"", "sh", "a b", "$x"},
       "sh"},
      // More than one simple command: the shell runs it as it is.
      {"cd /tmp && python3 -m http.server",
       "",
       {},
       {},
       {"/bin/sh", "-c", "cd /tmp && python3 -m http.server"},
       "sh"},
      // A file whose name has a space is a file, not a command.
      {"my app.sh", "", {}, {}, {"$D/bin/bash", "$D/my app.sh"}, "bash"},
      {"$D/app.py", "", {}, {}, {"$D/bin/python3", "$D/app.py"}, "python3"},
  };
  for (const Case& c : cases) {
    if (c.want_interpreter == nullptr) continue;
    SCOPED_TRACE(testing::Message() << c.script << " interpreter=" << c.interpreter);
    AppSpec s = spec(with_dir(c.script, dir_.path()));
    s.interpreter = c.interpreter;
    s.interpreter_args = c.interpreter_args;
    s.args = c.args;
    auto cmd = resolve_command(s);
    ASSERT_TRUE(cmd) << cmd.error().message();
    std::vector<std::string> want;
    for (const std::string& w : c.want_argv) want.push_back(with_dir(w, dir_.path()));
    EXPECT_EQ(cmd->argv, want);
    EXPECT_EQ(cmd->program, cmd->argv[0]);
    EXPECT_EQ(cmd->interpreter, c.want_interpreter);
  }
}

TEST_F(CommandTest, ExecPathIsTheAbsoluteScriptOrTheCommand) {
  auto cmd = resolve_command(spec("./sub/app.py"));
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->exec_path, dir_ / "sub/app.py");
  cmd = resolve_command(spec("python3 -m http.server"));
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->exec_path, "python3 -m http.server");
}

TEST_F(CommandTest, ErrorsNameWhatIsMissing) {
  struct Case {
    const char* script;
    const char* interpreter;
    const char* path;  // PATH for the app
    int code;
    const char* message;  // "$D" = the directory
  };
  const Case cases[] = {
      {"missing.js", "", nullptr, ENOENT, "script not found: $D/missing.js"},
      {"./missing", "", nullptr, ENOENT, "script not found: $D/missing"},
      {"/nowhere/app", "", nullptr, ENOENT, "script not found: /nowhere/app"},
      {"echo", "", nullptr, ENOENT, "\"echo\" is not in PATH"},
      {"app.rb", "", "/nonexistent", ENOENT,
       "interpreter \"ruby\" not found in PATH (needed to "
       "run $D/app.rb)"},
      {"app.py", "python9", nullptr, ENOENT, "interpreter \"python9\" not found in PATH"},
      {"app.py", "./venv/bin/python", nullptr, ENOENT, "interpreter $D/venv/bin/python not found"},
      {"plain", "", nullptr, EACCES, "script $D/plain is not executable and nothing says how"},
      {"app.js", "none", nullptr, EACCES, "script $D/app.js is not executable"},
      {"adir", "", nullptr, EISDIR, "script $D/adir is a directory"},
      {"", "", nullptr, EINVAL, "no script to run"},
      {"missing.py", "python3", nullptr, ENOENT, "script not found: $D/missing.py"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.script);
    AppSpec s = spec(c.script);
    s.interpreter = c.interpreter;
    if (c.path != nullptr) s.env["PATH"] = c.path;
    auto cmd = resolve_command(s);
    ASSERT_FALSE(cmd);
    EXPECT_EQ(cmd.error().code(), c.code) << cmd.error().message();
    EXPECT_NE(cmd.error().context().find(with_dir(c.message, dir_.path())), std::string::npos)
        << cmd.error().context();
  }
}

TEST_F(CommandTest, EmptyCwdMeansTheCurrentDirectory) {
  AppSpec s = spec(dir_ / "app.py");
  s.cwd.clear();
  auto cmd = resolve_command(s);
  ASSERT_TRUE(cmd) << cmd.error().message();
  EXPECT_EQ(cmd->argv, (std::vector<std::string>{dir_ / "bin/python3", dir_ / "app.py"}));
}

TEST_F(CommandTest, FindInPath) {
  std::string bin = dir_ / "bin";
  EXPECT_EQ(find_in_path("node", bin), bin + "/node");
  EXPECT_EQ(find_in_path("node", "/nonexistent:" + bin + ":/usr/bin"), bin + "/node");
  EXPECT_EQ(find_in_path("nosuch", bin), std::nullopt);
  EXPECT_EQ(find_in_path("bin/node", dir_.path()), std::nullopt);  // names with '/' are paths
  EXPECT_EQ(find_in_path("", bin), std::nullopt);
  EXPECT_EQ(find_in_path("app.js", dir_.path()), std::nullopt);  // not executable
  EXPECT_EQ(find_in_path("adir", dir_.path()), std::nullopt);    // not a file
  EXPECT_EQ(find_in_path("sh", "/bin"), "/bin/sh");
}

TEST(CommandExtensionTest, InterpreterForExtension) {
  EXPECT_EQ(interpreter_for_extension(".js"), "node");
  EXPECT_EQ(interpreter_for_extension(".mjs"), "node");
  EXPECT_EQ(interpreter_for_extension(".py"), "python3");
  EXPECT_EQ(interpreter_for_extension(".sh"), "bash");
  EXPECT_EQ(interpreter_for_extension(".php"), "php");
  EXPECT_EQ(interpreter_for_extension(".exe"), "");
  EXPECT_EQ(interpreter_for_extension(""), "");
}

// One simple command takes the shell's process (as with bash -c); anything else is left to the
// shell as it was written.
TEST(ShellExecFormTest, OnlyASimpleCommandIsExeced) {
  struct Case {
    const char* line;
    const char* want;  // nullptr: left as it is
  };
  const Case cases[] = {
      {"python3 -m http.server 8000", "exec python3 -m http.server 8000"},
      {"  node app.js --port $PORT", "  exec node app.js --port $PORT"},
      {"node -e 'console.log(1)'", nullptr},  // parentheses, even quoted: not looked into
      {"PORT=3000 NODE_ENV=production node app.js",
       "PORT=3000 NODE_ENV=production exec node app.js"},
      {"FOO=\"a b\" node app.js", nullptr},  // a quoted value: not split
      {"FOO=1", nullptr},
      {"'/opt/my app/bin/server' --x", "exec '/opt/my app/bin/server' --x"},
      {"./a=b --flag", "exec ./a=b --flag"},
      {"cd /srv && node app.js", nullptr},
      {"node a.js; node b.js", nullptr},
      {"node a.js | tee out", nullptr},
      {"node app.js > out.log", nullptr},
      {"node app.js &", nullptr},
      {"$(which node) app.js", nullptr},
      {"`which node` app.js", nullptr},
      {"node a.js\nnode b.js", nullptr},
      {"cd /srv", nullptr},
      {"exec node app.js", nullptr},
      {"while true do", nullptr},
      {"ulimit -n 4096", nullptr},
      {"wait 12", nullptr},
      {"   ", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    auto got = shell_exec_form(c.line);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.has_value()) << *got;
    } else {
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(*got, c.want);
    }
  }
}

}  // namespace
}  // namespace herd::manager
