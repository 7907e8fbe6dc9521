#include "cli/serve_args.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "app/app_name.h"
#include "app/app_settings.h"
#include "base/ascii.h"
#include "herd/net/address.h"

namespace herd::cli {
namespace {

using manager::AppSetting;
using manager::FlagArity;

// Start settings that would change what runs, or how it is reached, rather than how it is
// managed: the app's program is herd itself, and its port is the serve command's.
constexpr std::string_view kRefusedSettings[] = {
    "script", "interpreter", "interpreter_args", "cwd",         "exec_mode", "listen",
    "inject", "watch",       "ignore_watch",     "watch_delay",
};

bool refused(const AppSetting& s) {
  return std::find(std::begin(kRefusedSettings), std::end(kRefusedSettings), s.key) !=
         std::end(kRefusedSettings);
}

// The serve command's own flags with a value.
enum class Own { kNone, kPort, kHost, kUser, kPassword };

Own own_flag(std::string_view flag) {
  if (flag == "--port") return Own::kPort;
  if (flag == "--host") return Own::kHost;
  if (flag == "--basic-auth-username") return Own::kUser;
  if (flag == "--basic-auth-password") return Own::kPassword;
  return Own::kNone;
}

// The value of args[*i]: after '=' in "--flag=value", else the next word (which *i moves past).
Result<std::string> value_of(const std::vector<std::string>& args, std::size_t* i) {
  const std::string& a = args[*i];
  if (auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
    return a.substr(eq + 1);
  }
  if (*i + 1 >= args.size()) return fail(EINVAL, a + " needs a value");
  return args[++*i];
}

Result<int> parse_port(const std::string& text) {
  if (detail::all_digits(text) && text.size() <= 5) {
    int port = std::stoi(text);
    if (port >= 1 && port <= 65535) return port;
  }
  return fail(EINVAL,
              fmt::format("serve: the port must be a number from 1 to 65535, not '{}'", text));
}

Status check_folder(const ServeCommand& c, const std::string& typed) {
  struct stat st {};
  if (::stat(c.folder.c_str(), &st) != 0) {
    std::string hint;
    if (errno == ENOENT && detail::all_digits(typed)) {
      hint = fmt::format(" (to serve this folder on port {0}: herd serve . {0})", typed);
    }
    return fail(EINVAL, fmt::format("serve: {}: {}{}", c.folder, std::strerror(errno), hint));
  }
  if (!S_ISDIR(st.st_mode)) return fail(EINVAL, fmt::format("serve: {}: not a folder", c.folder));
  return {};
}

// One start flag of the settings table, into c->app.
Status take_setting(const AppSetting& s, const std::vector<std::string>& args, std::size_t* i,
                    const std::string& cwd, ServeCommand* c) {
  const std::string& a = args[*i];
  std::string flag = a.substr(0, a.find('='));
  if (refused(s)) return fail(EINVAL, fmt::format("serve: {} does not apply to serve", flag));
  std::string value;
  if (s.flag.arity == FlagArity::kValue) {
    auto v = value_of(args, i);
    if (!v) return std::unexpected(v.error());
    value = *v;
  } else if (s.flag.arity == FlagArity::kOptional && flag.size() < a.size()) {
    value = a.substr(flag.size() + 1);
  }
  if (s.key == "name") c->name_given = true;
  return s.flag.parse(c->app, {flag, value, cwd});
}

// A flag of the serve command itself; false when `a` is none of them.
Result<bool> take_own(const std::vector<std::string>& args, std::size_t* i, ServeCommand* c,
                      std::string* port_flag) {
  const std::string& a = args[*i];
  std::string flag = a.substr(0, a.find('='));
  if (a == "--spa") {
    c->spa = true;
  } else if (a == "--foreground") {
    c->foreground = true;
  } else if (a == "-h" || a == "--help") {
    c->help = true;
  } else if (flag == "--ftp") {
    return fail(EINVAL,
                "serve: --ftp (a listing of folders) is not served by herd: a folder "
                "answers with its index.html or 404");
  } else if (flag == "--monitor") {
    // PM2's optional value: the next word, when it is no flag.
    if (flag == a && *i + 1 < args.size() && !args[*i + 1].starts_with("-")) ++*i;
    c->warnings.push_back("--monitor is PM2.io's (a script in every page): ignored");
  } else if (Own own = own_flag(flag); own != Own::kNone) {
    auto v = value_of(args, i);
    if (!v) return std::unexpected(v.error());
    std::string* field[] = {nullptr, port_flag, &c->host, &c->user, &c->password};
    *field[static_cast<int>(own)] = *v;
  } else {
    return false;
  }
  return true;
}

// The credentials of PM2's variables, for the app's own process.
void credentials_from_env(const std::map<std::string, std::string>& env, ServeCommand* c) {
  auto get = [&env](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  if (get("PM2_SERVE_BASIC_AUTH") != "true") return;
  c->user = get("PM2_SERVE_BASIC_AUTH_USERNAME");
  c->password = get("PM2_SERVE_BASIC_AUTH_PASSWORD");
}

}  // namespace

Result<ServeCommand> parse_serve(const std::vector<std::string>& args, const std::string& cwd,
                                 const std::map<std::string, std::string>& env) {
  ServeCommand c;
  std::vector<std::string> words;
  std::string port_flag;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto own = take_own(args, &i, &c, &port_flag);
    if (!own) return std::unexpected(own.error());
    if (*own) continue;
    if (const AppSetting* s = manager::find_setting_by_flag(a.substr(0, a.find('=')))) {
      if (Status ok = take_setting(*s, args, &i, cwd, &c); !ok) return std::unexpected(ok.error());
    } else if (a.size() > 1 && a[0] == '-') {
      return fail(EINVAL,
                  fmt::format("unknown option '{}' for serve (see `herd serve --help`)", a));
    } else if (words.size() < 2) {
      words.push_back(a);
    } else {
      return fail(EINVAL, fmt::format("serve takes a folder and a port; '{}' is a third word", a));
    }
  }
  if (c.help) return c;
  // In the server's own process (--foreground), PM2's variables come first, as its Serve.js
  // reads them: that is how an ecosystem app with `script: "serve"` is configured. The command
  // `herd serve` itself goes by its command line, whatever the caller's shell holds.
  auto from_env = [&env, &c](const char* name) {
    auto it = env.find(name);
    return !c.foreground || it == env.end() ? std::string() : it->second;
  };
  std::string typed = words.empty() ? "." : words[0];
  if (std::string path = from_env("PM2_SERVE_PATH"); !path.empty()) typed = path;
  if (std::string port = from_env("PM2_SERVE_PORT"); !port.empty()) port_flag = port;
  if (from_env("PM2_SERVE_SPA") == "true") c.spa = true;
  if (c.host.empty()) c.host = from_env("PM2_SERVE_HOST");
  std::filesystem::path folder = std::filesystem::path(cwd) / typed;
  c.folder = folder.lexically_normal().string();
  while (c.folder.size() > 1 && c.folder.back() == '/') c.folder.pop_back();
  std::string port = !from_env("PM2_SERVE_PORT").empty() || words.size() < 2 ? port_flag : words[1];
  if (!port.empty()) {
    auto p = parse_port(port);
    if (!p) return std::unexpected(p.error());
    c.port = *p;
  }
  if (c.host.starts_with("unix:") || c.host.starts_with("/") || c.host.starts_with("./")) {
    return fail(EINVAL, "serve: --host takes an IP address or localhost, not a socket path");
  }
  if (auto a = Address::parse(serve_address(c)); !a) {
    return fail(EINVAL, "serve: --host: " + a.error().context());
  }
  if (c.user.empty() != c.password.empty()) {
    return fail(EINVAL,
                "serve: basic authentication needs both --basic-auth-username and "
                "--basic-auth-password");
  }
  if (c.foreground && c.user.empty()) credentials_from_env(env, &c);
  if (Status ok = check_folder(c, typed); !ok) return std::unexpected(ok.error());
  if (c.name_given) {
    if (Status ok = manager::validate_app_name(c.app.name); !ok) return std::unexpected(ok.error());
  }
  return c;
}

std::string serve_address(const ServeCommand& c) {
  std::string host = c.host.empty() ? "0.0.0.0" : c.host;
  if (host.find(':') != std::string::npos && !host.starts_with('[')) host = "[" + host + "]";
  return fmt::format("{}:{}", host, c.port);
}

manager::AppSpec serve_app(const ServeCommand& c, const std::string& exe,
                           std::map<std::string, std::string> env) {
  manager::AppSpec app = c.app;
  if (!c.name_given) app.name = fmt::format("static-page-server-{}", c.port);
  app.script = exe;
  app.interpreter = "none";
  app.args = {"serve", "--foreground", c.folder, std::to_string(c.port)};
  if (c.spa) app.args.push_back("--spa");
  if (!c.host.empty()) app.args.insert(app.args.end(), {"--host", c.host});
  app.cwd = c.folder;
  // Only what this command says: the caller's shell's credentials or folder do not leak into the
  // app (its command line says the folder and port).
  for (const char* name :
       {"PM2_SERVE_BASIC_AUTH", "PM2_SERVE_BASIC_AUTH_USERNAME", "PM2_SERVE_BASIC_AUTH_PASSWORD",
        "PM2_SERVE_PATH", "PM2_SERVE_PORT", "PM2_SERVE_HOST", "PM2_SERVE_SPA"}) {
    env.erase(name);
  }
  if (!c.user.empty()) {
    std::map<std::string, std::string> credentials = {
        {"PM2_SERVE_BASIC_AUTH", "true"},
        {"PM2_SERVE_BASIC_AUTH_USERNAME", c.user},
        {"PM2_SERVE_BASIC_AUTH_PASSWORD", c.password}};
    for (const auto& [name, value] : credentials) {
      app.app_env[name] = value;
      env[name] = value;
    }
  }
  app.env = std::move(env);
  if (app.instances != "1") {
    app.exec_mode = manager::ExecMode::kCluster;
    // herd holds the port; the instances adopt it (LISTEN_FDS). A static binary takes no
    // preload, and needs none: it listens on the address it is told.
    auto address = Address::parse(serve_address(c));
    if (address) app.listen = {address->to_string()};
    app.inject = false;
  }
  return app;
}

Result<bool> as_ecosystem_serve_app(manager::AppSpec& app, const std::string& exe) {
  if (app.script != "serve") return false;
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(app.cwd) / "serve", ec)) return false;
  // --foreground reads the credentials of the env, as the server's own process does.
  std::vector<std::string> words{"--foreground"};
  words.insert(words.end(), app.args.begin(), app.args.end());
  auto c = parse_serve(words, app.cwd, app.env);
  if (!c) {
    return fail(EINVAL,
                fmt::format("app '{}' (script \"serve\"): {}", app.name, c.error().context()));
  }
  c->foreground = false;
  c->app = app;
  c->name_given = true;
  // The server runs in the folder: a relative PM2_SERVE_PATH is resolved here, once, against
  // the app's own cwd, as Serve.js resolves it. The command line carries it; app_env, which a
  // restart with the file's env sends again, carries the resolved path too.
  if (c->app.app_env.contains("PM2_SERVE_PATH")) c->app.app_env["PM2_SERVE_PATH"] = c->folder;
  std::map<std::string, std::string> env = app.env;
  app = serve_app(*c, exe, std::move(env));
  return true;
}

const char* serve_usage() {
  return R"(usage: herd serve [path] [port] [options]

Serves the files of a folder over HTTP as an app (`herd ls`, stop, restart, logs, delete),
as `pm2 serve` does. path defaults to the current folder, port to 8080; the app is named
static-page-server-<port> unless --name says otherwise.

  --port N                     the port (a second word wins over it, as in PM2)
  --host ADDR                  listen on ADDR only (default 0.0.0.0, every IPv4 interface)
  --spa                        single-page app: a path that is no file gets /index.html
  --basic-auth-username USER   with --basic-auth-password: HTTP Basic authentication
  --basic-auth-password PASS
  --name NAME, -i N, --namespace NS, --max-memory-restart SIZE, --time, -o/-e/-l FILE, ...
                               as for herd start (-i N: N processes share the port)
  --foreground                 serve in this process instead of starting an app

GET and HEAD only; a folder answers with its index.html; Range, If-Modified-Since; files and
folders whose name starts with '.' (except .well-known) are not served; nothing outside the
folder is ever read, symbolic links included.
)";
}

}  // namespace herd::cli
