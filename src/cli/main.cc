// herd: the command line. The first argument names a command of the table (commands.h); every
// command but `daemon`, `startup`, `version` and `help` talks to the daemon over the control
// socket.
#include <fmt/format.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "metrics/metrics_listener.h"

namespace herd::cli {
namespace {

// What a command that talks to the daemon needs: the terminal's shape, SIGPIPE ignored, and
// HERD_METRICS_PORT and HERD_METRICS_ADDR checked here too, since a daemon this command starts
// would only say it is wrong in herd.log.
int prepare_client(Cli& cli) {
  if (const char* p = std::getenv("HERD_METRICS_PORT"); p != nullptr && *p != '\0') {
    auto port = manager::parse_metrics_port(p, "HERD_METRICS_PORT");
    if (!port) return fail_with(port.error().context());
  }
  if (const char* a = std::getenv("HERD_METRICS_ADDR"); a != nullptr && *a != '\0') {
    auto addr = manager::parse_metrics_addr(a, "HERD_METRICS_ADDR");
    if (!addr) return fail_with(addr.error().context());
    const char* p = std::getenv("HERD_METRICS_PORT");
    if (p == nullptr || *p == '\0') {
      return fail_with(
          "HERD_METRICS_ADDR is set without HERD_METRICS_PORT: the listener needs both");
    }
  }
  cli.color = ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  winsize ws{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
    cli.width = ws.ws_col;
  }
  ::signal(SIGPIPE, SIG_IGN);
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage_text().c_str(), stderr);
    return 1;
  }
  const Command* command = find_command(argv[1]);
  if (command == nullptr) {
    return fail_with(fmt::format("unknown verb '{}' (see `herd help`)", argv[1]));
  }
  Cli cli{argv[1], Args(argv + 2, argv + argc), {}, nullptr, false, 0};
  if (command->needs == Needs::kNothing) return command->run(cli);
  auto home = manager::Home::locate();
  if (!home) return fail_with(home.error().context());
  cli.home = *home;
  if (command->needs == Needs::kHome) return command->run(cli);
  if (int failed = prepare_client(cli); failed != 0) return failed;
  if (command->no_args && !cli.args.empty()) {
    return fail_with(
        fmt::format("{} takes no arguments; '{}' is not one of them", cli.name, cli.args[0]));
  }
  Client client(cli.home);
  cli.client = &client;
  if (command->needs == Needs::kDaemon) {
    if (Status s = client.connect(true); !s) return fail_with(client_error(s.error()));
  }
  return command->run(cli);
}

}  // namespace
}  // namespace herd::cli

int main(int argc, char** argv) { return herd::cli::run(argc, argv); }
