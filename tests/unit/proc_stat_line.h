// A /proc/<pid>/stat line for the tests of proc_stats.h and process_groups.h.
#pragma once

#include <sstream>
#include <string>

namespace herd::manager {

// A stat line: pid (comm) state ppid pgrp ... utime(14) stime(15) cutime(16) cstime(17) ...
// rss(24), in clock ticks and pages.
inline std::string stat_line(int pid, const std::string& comm, int ppid, int pgrp, long utime,
                             long stime, long cutime, int rss_pages) {
  std::ostringstream out;
  out << pid << " (" << comm << ") S " << ppid << ' ' << pgrp;
  for (int f = 6; f <= 13; ++f) out << " 0";
  out << ' ' << utime << ' ' << stime << ' ' << cutime << " 0";
  for (int f = 18; f <= 23; ++f) out << " 0";
  out << ' ' << rss_pages << " 0 0\n";
  return out.str();
}

}  // namespace herd::manager
