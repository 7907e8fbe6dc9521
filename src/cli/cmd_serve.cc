// `herd serve [path] [port]`: a folder's files over HTTP as an app, as `pm2 serve` does. The app
// is this very binary in `herd serve --foreground` mode (src/serve), so nothing else needs to be
// installed; the daemon runs it like any other program.
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>

#include "cli/cmd_targets.h"
#include "cli/commands.h"
#include "cli/serve_args.h"
#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "serve/serve_main.h"

namespace herd::cli {
namespace {

// Whether the app's server could listen on `text` now: a port that is taken (or not ours to
// take) is said here, with exit 1, rather than as an app that fails its start again and again.
// Another server may still take it in between; then the app's error log says so.
Status check_port(const std::string& text) {
  auto address = Address::parse(text);
  if (!address) return std::unexpected(address.error());
  auto fd = Fd::socket(address->family(), SOCK_STREAM);
  if (!fd) return std::unexpected(fd.error());
  int on = 1;
  ::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (::bind(fd->get(), address->data(), address->size()) != 0) {
    return fail_errno(fmt::format("serve: cannot listen on {}", text));
  }
  return {};
}

}  // namespace

std::string own_binary() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

int cmd_serve(Cli& cli) {
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return fail_with("cannot read the working directory");
  auto env = current_env();
  auto command = parse_serve(cli.args, cwd, env);
  if (!command) return fail_with(manager::input_error_message(command.error()));
  if (command->help) {
    std::fputs(serve_usage(), stdout);
    return 0;
  }
  for (const auto& w : command->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
  if (command->foreground) {
    serve::ServeOptions options;
    options.site = {command->folder, command->spa, command->user, command->password};
    options.address = serve_address(*command);
    return serve::run_static_server(options);
  }
  if (Status s = check_port(serve_address(*command)); !s) return fail_with(s.error().message());
  std::string exe = own_binary();
  if (exe.empty()) return fail_with("serve: cannot find herd's own binary (/proc/self/exe)");
  manager::AppSpec app = serve_app(*command, exe, std::move(env));
  if (Status s = cli.client->connect(true); !s) return fail_with(client_error(s.error()));
  int code = start_specs(cli, {app});
  if (code == 0) std::printf("Serving %s on port %d\n", command->folder.c_str(), command->port);
  int shown = print_list(cli);
  return code != 0 ? code : shown;
}

}  // namespace herd::cli
