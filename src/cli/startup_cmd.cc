#include "cli/startup_cmd.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "cli/startup.h"
#include "daemon/home.h"
#include "daemon/user.h"

namespace herd::cli {
namespace {

constexpr const char* kUnitDir = "/etc/systemd/system";

int fail_with(const std::string& message) {
  std::fprintf(stderr, "herd: %s\n", message.c_str());
  return 1;
}

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

struct Args {
  std::string init = "systemd";
  std::string user;
  std::string home_path;     // --hp
  std::string service_name;  // --service-name, "" for herd-<user>
  bool write = false;
  bool wait_ip = false;
};

// Parses `[systemd] [-u USER] [--hp DIR] [--service-name NAME] [--wait-ip] [--write]`; --hp,
// --wait-ip and --write only for startup.
int parse(const std::string& verb, const std::vector<std::string>& args, Args* out) {
  bool init_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool startup = verb == "startup";
    bool valued = a == "-u" || a == "--user" || a == "--service-name" || (startup && a == "--hp");
    if (valued && i + 1 < args.size()) {
      std::string& to = a == "--hp"             ? out->home_path
                        : a == "--service-name" ? out->service_name
                                                : out->user;
      to = args[++i];
    } else if (valued) {
      return fail_with(a + " needs a value");
    } else if (startup && a == "--write") {
      out->write = true;
    } else if (startup && a == "--wait-ip") {
      out->wait_ip = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail_with("unknown option '" + a + "' for " + verb);
    } else if (!init_seen) {
      out->init = a;
      init_seen = true;
    } else {
      return fail_with(verb + " takes one init system, not '" + a + "' too");
    }
  }
  if (Status s = check_init_system(out->init); !s) return fail_with(s.error().context());
  return 0;
}

// The account to install for: -u, else the effective uid's name, else $USER.
int resolve_user(Args* a) {
  if (!a->user.empty()) return 0;
  if (auto e = manager::passwd_entry(::geteuid())) {
    a->user = e->name;
  } else if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') {
    a->user = u;
  } else {
    return fail_with(
        "cannot tell who you are (no /etc/passwd entry for your uid, no $USER): "
        "pass -u USER");
  }
  return 0;
}

// The unit's file name: --service-name's, else herd-<user>.service.
Result<std::string> unit_name_of(const Args& a) {
  if (a.service_name.empty()) return startup_unit_name(a.user);
  return service_unit_name(a.service_name);
}

// The options of `a` that the printed install command must repeat.
std::string repeated_options(const Args& a) {
  std::string out;
  if (!a.service_name.empty()) out += " --service-name " + a.service_name;
  if (a.wait_ip) out += " --wait-ip";
  return out;
}

int startup(Args a) {
  if (int code = resolve_user(&a); code != 0) return code;
  auto name = unit_name_of(a);
  if (!name) return fail_with(name.error().context());
  StartupOptions o;
  o.user = a.user;
  o.wait_ip = a.wait_ip;
  const char* env_home = std::getenv("HERD_HOME");
  std::string me = manager::passwd_entry(::geteuid()).value_or(manager::PasswdEntry{}).name;
  if (!a.home_path.empty()) {
    o.herd_home = a.home_path + "/.herd";  // PM2's --hp: the account's home directory
  } else if (a.user != me && (env_home == nullptr || *env_home == '\0')) {
    // Another account (PM2's -u): its own ~/.herd.
    auto entry = manager::passwd_entry(a.user);
    if (!entry || entry->home.empty()) {
      return fail_with("/etc/passwd has no home for '" + a.user + "': pass --hp DIR");
    }
    o.herd_home = entry->home + "/.herd";
  } else {
    auto home = manager::Home::locate();
    if (!home) return fail_with(home.error().context());
    o.herd_home = home->dir;
  }
  if (!o.herd_home.empty() && o.herd_home[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) o.herd_home = std::string(cwd) + "/" + o.herd_home;
  }
  o.herd_path = self_path();
  if (const char* p = std::getenv("PATH"); p != nullptr) o.path_env = p;
  auto unit = systemd_unit(o);
  if (!unit) return fail_with(unit.error().context());
  std::string target = std::string(kUnitDir) + "/" + *name;

  if (a.write) {
    if (::geteuid() != 0) {
      return fail_with("writing " + target +
                       " needs root: run `sudo env PATH=\"$PATH\" HERD_HOME=\"" + o.herd_home +
                       "\" " + o.herd_path + " startup systemd -u " + o.user + repeated_options(a) +
                       " --write`");
    }
    if (Status s = install_unit(kUnitDir, *name, *unit); !s) return fail_with(s.error().message());
    std::printf("wrote %s (herd resurrect at boot for %s, HERD_HOME=%s)\n", target.c_str(),
                o.user.c_str(), o.herd_home.c_str());
    std::printf("enable it with:\n  systemctl daemon-reload && systemctl enable %s\n",
                name->c_str());
    std::printf("then save the apps to bring back at boot: herd save\n");
    return 0;
  }
  std::printf("# %s: runs `herd resurrect` at boot for %s, HERD_HOME=%s\n", target.c_str(),
              o.user.c_str(), o.herd_home.c_str());
  std::fputs(unit->c_str(), stdout);
  std::printf("\n# To install it, run as root (herd writes the file; it never runs systemctl):\n");
  std::printf("#   sudo env PATH=\"$PATH\" HERD_HOME=\"%s\" %s startup systemd -u %s%s --write\n",
              o.herd_home.c_str(), o.herd_path.c_str(), o.user.c_str(),
              repeated_options(a).c_str());
  std::printf("#   sudo systemctl daemon-reload && sudo systemctl enable %s\n", name->c_str());
  std::printf("# then save the apps to bring back at boot: herd save\n");
  std::printf("# Remove it with: sudo %s unstartup systemd -u %s%s\n", o.herd_path.c_str(),
              o.user.c_str(),
              a.service_name.empty() ? "" : (" --service-name " + a.service_name).c_str());
  return 0;
}

int unstartup(Args a) {
  if (int code = resolve_user(&a); code != 0) return code;
  auto unit_name = unit_name_of(a);
  if (!unit_name) return fail_with(unit_name.error().context());
  const std::string& name = *unit_name;
  auto removed = remove_unit(kUnitDir, name);
  if (!removed) return fail_with(removed.error().message());
  if (!*removed) {
    std::printf("no %s in %s: nothing to remove\n", name.c_str(), kUnitDir);
    return 0;
  }
  std::printf("removed %s/%s and its enable link; now run: systemctl daemon-reload\n", kUnitDir,
              name.c_str());
  return 0;
}

}  // namespace

int startup_command(const std::string& verb, const std::vector<std::string>& args) {
  Args a;
  if (int code = parse(verb, args, &a); code != 0) return code;
  return verb == "startup" ? startup(std::move(a)) : unstartup(std::move(a));
}

}  // namespace herd::cli
