#include "daemon/descriptor_limit.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace herd::manager {
namespace {

constexpr const char* kAppLimitVariable = "HERD_APP_NOFILE";

// Read in forked children: written once, before any spawn.
rlimit g_app_limit{};
bool g_raised = false;

}  // namespace

rlim_t raise_descriptor_limit() {
  rlimit now{};
  if (::getrlimit(RLIMIT_NOFILE, &now) != 0) return RLIM_INFINITY;
  rlim_t app_soft = now.rlim_cur;
  // After `herd update` the limit in force is the raised one: the original came with us.
  if (const char* kept = std::getenv(kAppLimitVariable); kept != nullptr && *kept != '\0') {
    char* end = nullptr;
    unsigned long long v = std::strtoull(kept, &end, 10);
    if (end != nullptr && *end == '\0' && v > 0 && v <= now.rlim_max) app_soft = v;
  }
  rlimit raised = now;
  raised.rlim_cur =
      now.rlim_max == RLIM_INFINITY ? kMaxDescriptors : std::min(now.rlim_max, kMaxDescriptors);
  if (raised.rlim_cur < now.rlim_cur) raised.rlim_cur = now.rlim_cur;
  if (raised.rlim_cur != now.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    raised = now;
  }
  g_app_limit = rlimit{app_soft, raised.rlim_max};
  g_raised = app_soft != raised.rlim_cur;
  ::setenv(kAppLimitVariable, std::to_string(app_soft).c_str(), 1);
  return app_soft;
}

void apply_app_descriptor_limit() {
  if (g_raised) ::setrlimit(RLIMIT_NOFILE, &g_app_limit);
}

}  // namespace herd::manager
