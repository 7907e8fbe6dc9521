#include "e2e/herd_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "e2e/cgroup_cleanup.h"

extern char** environ;

namespace herd::e2e {
namespace {

using Clock = std::chrono::steady_clock;

bool is_number(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (is_number(e->d_name)) out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
  }
  ::closedir(d);
  return out;
}

// Whether `pid`'s environment holds exactly HERD_HOME=<home>: the processes of one test's home
// (its daemon, the apps, their children) are recognised by it, and nothing else is.
bool belongs_to_home(pid_t pid, const std::string& home) {
  // environ is "KEY=value\0KEY=value\0...": look for one whole entry.
  std::string env = std::string(1, '\0') + read_file("/proc/" + std::to_string(pid) + "/environ");
  env.push_back('\0');
  std::string entry = std::string(1, '\0') + "HERD_HOME=" + home + std::string(1, '\0');
  return env.find(entry) != std::string::npos;
}

std::string describe(const std::vector<ProcId>& procs) {
  std::string text;
  for (const ProcId& p : procs) {
    std::string cmdline = read_file("/proc/" + std::to_string(p.pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    text += "\n  pid " + std::to_string(p.pid) + ": " + cmdline;
  }
  return text;
}

// Any report of ASan, LSan or UBSan (errors, leaks, a sanitizer's own fatal error): herd never
// writes the word itself.
bool has_sanitizer_report(const std::string& text) {
  return text.find("Sanitizer") != std::string::npos ||
         text.find("runtime error:") != std::string::npos;
}

std::string tail_of(const std::string& text, std::size_t max_bytes) {
  return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

}  // namespace

// --- files and processes -------------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text, unsigned mode) {
  // Through a temporary and rename, so whoever polls for the file never sees half of it.
  std::string tmp = path + ".tmp-e2e";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ::chmod(tmp.c_str(), mode);
  ::rename(tmp.c_str(), path.c_str());
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

long file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return -1;
  return static_cast<long>(st.st_size);
}

bool wait_for(const std::function<bool()>& done, Ms timeout, Ms step) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(step);
  }
  return true;
}

std::optional<ProcStat> proc_stat(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')');
  if (text.empty() || close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::vector<std::string> f;
  for (std::string s; fields >> s;) f.push_back(s);
  if (f.size() < 20) return std::nullopt;
  ProcStat st;
  st.state = f[0][0];
  st.ppid = static_cast<pid_t>(std::atoi(f[1].c_str()));
  st.starttime = std::strtoull(f[19].c_str(), nullptr, 10);  // field 22 of stat(5)
  return st;
}

std::optional<ProcId> proc_id(pid_t pid) {
  auto st = proc_stat(pid);
  if (!st) return std::nullopt;
  return ProcId{pid, st->starttime};
}

bool reaped(const ProcId& p) {
  auto st = proc_stat(p.pid);
  return !st || st->starttime != p.starttime;
}

bool dead(const ProcId& p) {
  auto st = proc_stat(p.pid);
  return !st || st->starttime != p.starttime || st->state == 'Z' || st->state == 'X';
}

std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    auto st = proc_stat(pid);
    if (st && st->ppid == parent && st->state == 'Z') out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> child_pids(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    auto st = proc_stat(pid);
    if (st && st->ppid == parent) out.push_back(pid);
  }
  return out;
}

std::vector<ProcId> herd_servers_of_home(const std::string& home) {
  std::vector<ProcId> out;
  for (pid_t pid : all_pids()) {
    if (pid == ::getpid() || !belongs_to_home(pid, home)) continue;
    std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    for (std::size_t at = 0; at < cmdline.size();) {
      std::size_t end = cmdline.find('\0', at);
      if (end == std::string::npos) end = cmdline.size();
      args.push_back(cmdline.substr(at, end - at));
      at = end + 1;
    }
    if (args.size() < 2 || (args[1] != "daemon" && args[1] != "runtime")) continue;
    if (auto id = proc_id(pid); id && !dead(*id)) out.push_back(*id);
  }
  return out;
}

std::vector<ProcId> processes_of_home(const std::string& home) {
  std::vector<ProcId> out;
  for (pid_t pid : all_pids()) {
    if (pid == ::getpid() || !belongs_to_home(pid, home)) continue;
    if (auto id = proc_id(pid); id && !dead(*id)) out.push_back(*id);
  }
  return out;
}

std::string test_binary() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// --- HerdTest ------------------------------------------------------------------------------------

void HerdTest::SetUp() {
  char tmpl[] = "/tmp/herd-e2e.XXXXXX";  // short: a Unix socket path must fit in 108 bytes
  ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
  home_ = tmpl;
  std::string self = test_binary();
  herd_bin_ = self.substr(0, self.rfind('/')) + "/herd";
  ASSERT_TRUE(file_exists(herd_bin_)) << herd_bin_ << " is missing (build the herd_cli target)";
}

std::vector<std::string> HerdTest::environment(const EnvVars& extra) const {
  std::vector<std::string> env;
  auto overridden = [&](const std::string& key) {
    if (key == "HERD_HOME" || key == kRoleVar || key.rfind("HERD_E2E_", 0) == 0) return true;
    return std::any_of(extra.begin(), extra.end(), [&](const auto& kv) { return kv.first == key; });
  };
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (!overridden(kv.substr(0, kv.find('=')))) env.push_back(kv);
  }
  // A test may point one command at another home (a second daemon).
  bool other_home = std::any_of(extra.begin(), extra.end(),
                                [](const auto& kv) { return kv.first == "HERD_HOME"; });
  if (!other_home) env.push_back("HERD_HOME=" + home_);
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::unique_ptr<Process> HerdTest::herd_background(const std::vector<std::string>& args,
                                                   const EnvVars& env) {
  auto p = std::make_unique<Process>();
  std::vector<std::string> argv{herd_bin_};
  argv.insert(argv.end(), args.begin(), args.end());
  EXPECT_TRUE(p->spawn(argv, environment(env)))
      << "spawn " << herd_bin_ << ": " << std::strerror(errno);
  return p;
}

std::unique_ptr<Process> HerdTest::herd_runtime(const std::vector<std::string>& args,
                                                const EnvVars& env) {
  std::vector<std::string> all{"runtime"};
  all.insert(all.end(), args.begin(), args.end());
  auto p = herd_background(all, env);
  auto id = proc_id(p->pid());
  // (herd.pid holds its pid as its own PID namespace sees it: 1 as a container's PID 1.)
  EXPECT_TRUE(wait_for([&] { return daemon_pid() > 0 || !id || dead(*id); }))
      << "herd runtime (pid " << p->pid() << ") did not take the home";
  return p;
}

CommandResult HerdTest::herd(const std::vector<std::string>& args, const EnvVars& env, Ms timeout) {
  auto p = herd_background(args, env);
  bool done = p->wait_exit(timeout);
  if (!done) {
    p->signal(SIGKILL);
    p->wait_exit(10s);
  }
  CommandResult r = p->result();
  r.timed_out = !done;
  std::string cmd = "herd";
  for (const auto& a : args) cmd += " " + a;
  EXPECT_FALSE(r.timed_out) << cmd << " did not finish within " << timeout.count() << " ms\n" << r;
  EXPECT_FALSE(has_sanitizer_report(r.err)) << cmd << " reported a sanitizer error\n" << r;
  return r;
}

Json HerdTest::jlist() {
  CommandResult r = herd({"jlist"});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "herd jlist failed " << r;
    return Json::array();
  }
  Json list = Json::parse(r.out, nullptr, false);
  if (list.is_discarded() || !list.is_array()) {
    ADD_FAILURE() << "herd jlist printed no JSON array: " << r.out;
    return Json::array();
  }
  for (const auto& p : list) {
    if (p.value("pid", 0) <= 0) continue;
    if (auto id = proc_id(p["pid"].get<pid_t>())) recorded_.insert({id->pid, id->starttime});
  }
  return list;
}

bool HerdTest::wait_jlist(const std::function<bool(const Json&)>& pred, Ms timeout, Json* last) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    Json list = jlist();
    bool ok = pred(list);
    if (last != nullptr) *last = list;
    if (ok) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

bool HerdTest::wait_status(const std::string& name, const std::string& status, std::size_t count,
                           Ms timeout, Json* last) {
  return wait_jlist(
      [&](const Json& list) {
        auto list_of = instances(list, name);
        if (list_of.size() < count) return false;
        return std::all_of(list_of.begin(), list_of.end(),
                           [&](const Json& p) { return p["pm2_env"]["status"] == status; });
      },
      timeout, last);
}

std::vector<Json> HerdTest::instances(const Json& list, const std::string& name) {
  std::vector<Json> out;
  for (const auto& p : list) {
    if (p.value("name", "") == name) out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const Json& a, const Json& b) { return a.value("pm_id", 0) < b.value("pm_id", 0); });
  return out;
}

Json HerdTest::instance(const Json& list, const std::string& name) {
  auto all = instances(list, name);
  if (all.size() != 1) {
    ADD_FAILURE() << "expected one instance of " << name << " in " << list.dump(1);
    return Json::object({{"pid", 0}, {"pm_id", -1}, {"pm2_env", Json::object()}});
  }
  return all[0];
}

std::string HerdTest::write_script(const std::string& name, const std::string& body) {
  std::string p = path(name);
  write_file(p, "#!/bin/sh\n" + body, 0755);
  return p;
}

pid_t HerdTest::daemon_pid() const {
  return static_cast<pid_t>(std::atoi(read_file(path("herd.pid")).c_str()));
}

void HerdTest::expect_no_zombies() {
  pid_t d = daemon_pid();
  ASSERT_GT(d, 0) << "no daemon pid in " << path("herd.pid");
  std::vector<pid_t> zombies;
  bool none = wait_for([&] {
    zombies = zombie_children(d);
    return zombies.empty();
  });
  std::string list;
  for (pid_t z : zombies) list += " " + std::to_string(z);
  EXPECT_TRUE(none) << "the daemon (pid " << d << ") leaves zombie children:" << list;
}

void HerdTest::record_pid_files() {
  DIR* d = ::opendir(path("pids").c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    pid_t pid = std::atoi(read_file(path("pids/") + e->d_name).c_str());
    if (auto id = pid > 0 ? proc_id(pid) : std::nullopt) recorded_.insert({id->pid, id->starttime});
  }
  ::closedir(d);
}

void HerdTest::kill_everything_of_home() {
  std::vector<ProcId> killed;
  auto kill_one = [&](const ProcId& id) {
    if (id.pid == ::getpid() || dead(id)) return;
    ::kill(id.pid, SIGKILL);
    killed.push_back(id);
  };
  // Every process whose environment names this home: the daemon, the apps, their children.
  for (pid_t pid : all_pids()) {
    if (!belongs_to_home(pid, home_)) continue;
    if (auto id = proc_id(pid)) kill_one(*id);
  }
  // And the app processes recorded on the way (an app may run with an environment of its own);
  // the start time tells them from a process that reuses the pid.
  for (const auto& [pid, starttime] : recorded_) kill_one(ProcId{pid, starttime});
  wait_for([&] { return std::all_of(killed.begin(), killed.end(), dead); }, 5s);
}

void HerdTest::TearDown() {
  if (home_.empty()) return;
  ::chmod(home_.c_str(), 0700);  // a test may have opened it up
  pid_t d = daemon_pid();
  std::optional<ProcId> daemon = d > 0 ? proc_id(d) : std::nullopt;
  record_pid_files();
  // `kill` never starts a daemon: with none running it says so and succeeds.
  CommandResult r = herd({"kill"});
  EXPECT_EQ(r.exit_code, 0) << "herd kill " << r;
  if (daemon) {
    EXPECT_TRUE(wait_for([&] { return dead(*daemon); }, 20s))
        << "the daemon (pid " << d << ") is still alive after `herd kill`";
    if (!dead(*daemon) && belongs_to_home(d, home_)) ::kill(d, SIGKILL);
  }
  // The keeper ends a moment after its daemon; nothing of herd's may outlive `herd kill`.
  std::vector<ProcId> servers;
  bool stopped = wait_for([&] { return (servers = herd_servers_of_home(home_)).empty(); }, 20s);
  EXPECT_TRUE(stopped) << "herd processes of " << home_ << " still run after `herd kill`"
                       << describe(servers);
  kill_everything_of_home();
  remove_cgroups_of_home(home_);

  std::string log = read_file(path("herd.log"));
  EXPECT_FALSE(has_sanitizer_report(log)) << "sanitizer report in herd.log:\n" << log;
  if (HasFailure()) {
    std::cerr << "--- " << path("herd.log") << " (end) ---\n"
              << tail_of(log, 6000) << "--- end of herd.log ---\n";
  }
  std::error_code ec;
  std::filesystem::remove_all(home_, ec);
  // A daemon started after all that (a command of the test still running, racing the teardown)
  // finds its home gone and ends by itself (home_watch.h); one that does not is a leak: made
  // visible, then killed.
  std::vector<ProcId> leaked;
  bool none = wait_for([&] { return (leaked = herd_servers_of_home(home_)).empty(); }, 20s);
  EXPECT_TRUE(none) << "herd processes of " << home_ << " outlived its removal" << describe(leaked);
  for (const ProcId& p : leaked) {
    if (!dead(p)) ::kill(p.pid, SIGKILL);
  }
}

InDir::InDir(const std::string& dir) {
  char buf[4096];
  if (::getcwd(buf, sizeof(buf)) != nullptr) old_ = buf;
  EXPECT_EQ(::chdir(dir.c_str()), 0) << dir;
}

InDir::~InDir() {
  if (!old_.empty()) (void)!::chdir(old_.c_str());  // best effort: nothing to do on failure
}

}  // namespace herd::e2e
