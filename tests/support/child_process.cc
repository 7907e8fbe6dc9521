#include "support/child_process.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <map>

namespace herd::test {
namespace {

std::map<std::string, std::function<int(int, char**)>>& roles() {
  static std::map<std::string, std::function<int(int, char**)>> r;
  return r;
}

}  // namespace

bool register_role(const std::string& name, std::function<int(int argc, char** argv)> fn) {
  roles()[name] = std::move(fn);
  return true;
}

bool run_role_if_requested(int argc, char** argv, int* exit_code) {
  const char* role = std::getenv("HERD_TEST_ROLE");
  if (role == nullptr || *role == '\0') return false;
  auto it = roles().find(role);
  if (it == roles().end()) {
    *exit_code = 127;
    return true;
  }
  *exit_code = it->second(argc, argv);
  return true;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n < 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

ChildSpec self_spec(const std::string& role, const std::vector<std::string>& args) {
  ChildSpec spec;
  spec.argv.push_back(self_exe());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env.push_back("HERD_TEST_ROLE=" + role);
  return spec;
}

ChildResult run_self(const std::string& role, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout, const std::vector<int>& keep_fds) {
  ChildSpec spec = self_spec(role, args);
  spec.err = Output::kInherit;
  spec.keep_fds = keep_fds;
  RunResult r = run(spec, timeout);
  return {r.exited, r.exit_code, r.term_signal, r.timed_out, std::move(r.out)};
}

}  // namespace herd::test
