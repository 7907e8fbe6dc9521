// The cgroups herd made for a HERD_HOME (docs/resources.md), removed after a test whatever
// happened: a daemon killed by SIGKILL leaves its groups to the next daemon of its home, which
// a test's temporary home never gets.
#pragma once

#include <string>
#include <vector>

namespace herd::e2e {

// Removes herd's group for `home` in every hierarchy the test process sees (after moving any
// process left in it to its parent). Quiet when there is none.
void remove_cgroups_of_home(const std::string& home);

// herd's group directories for `home` that exist now, in every hierarchy the test process sees.
std::vector<std::string> cgroups_of_home(const std::string& home);

}  // namespace herd::e2e
