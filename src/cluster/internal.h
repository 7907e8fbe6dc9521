// The cluster's internals: option resolution, starting a worker process, and the balancer that
// owns the listening sockets and hands connections (or sockets) to workers.
//
// The protocol between primary and worker is herd::Channel frames whose body is an object with
// "k" (the kind) for the cluster's own frames, or "u" (the user's body) for the user's:
//   worker -> primary   {"k":"online"}
//                       request {"k":"listen","address":A}
//                         -> {"g":G,"address":actual,"mode":M} (+ the socket, shared and
//                            reuseport; a Unix socket under reuseport is served as shared)
//                       {"k":"listening","g":G,"address":actual}
//                       {"k":"ack","g":G,"n":N}       N connections of group G taken (rr)
//                       {"k":"return","g":G} + fd     a connection it can no longer serve (rr)
//                       {"k":"disconnecting"}         it disconnects on its own
//   primary -> worker   {"k":"conn","g":G} + fd       a connection to serve (rr)
//                       {"k":"disconnect"}
// Threads: the primary's loop thread only.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "herd/base/fd.h"
#include "herd/cluster/channel.h"
#include "herd/cluster/cluster.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"

namespace herd::cluster::detail {

inline constexpr const char* kWorkerIdEnv = "HERD_CLUSTER_WORKER_ID";
inline constexpr const char* kChannelFdEnv = "HERD_CLUSTER_CHANNEL_FD";
inline constexpr const char* kSchedEnv = "HERD_CLUSTER_SCHED";
inline constexpr int kChannelFd = 3;
inline constexpr int kMaxWorkers = 1024;
// Connections a worker may hold unacknowledged (rr). Enough that a worker is never idle waiting
// for its ack to travel, small enough that a stuck worker strands few connections.
inline constexpr int kCredit = 16;
// Connections the primary holds while every worker is out of credit; beyond, it stops
// accepting and the kernel's queue holds the rest.
inline constexpr std::size_t kMaxPending = 1024;

struct Resolved {
  int workers = 1;
  Scheduling scheduling = kDefaultScheduling;
};
Result<Resolved> resolve(const Options& options);
// One worker per CPU this process may use (affinity mask and cgroup CPU quota: usable_cpus.h).
int cpu_count();

// This program's command line (/proc/self/cmdline) and executable path.
Result<std::vector<std::string>> own_argv();
Result<std::string> own_exe();

struct Spawned {
  pid_t pid = -1;
  Fd pidfd;  // readable once the process has exited (pidfd_open)
};
// Starts `exe` with `argv`, this process's environment (minus LISTEN_*, NOTIFY_SOCKET and the
// cluster's own variables) plus `env`, and `channel` at descriptor 3. The child dies with this
// thread (PR_SET_PDEATHSIG) and starts with default signal dispositions and an empty mask.
// Errors: fork/pidfd failures, and exec's errno reported back through a CLOEXEC pipe.
Result<Spawned> spawn(const std::string& exe, const std::vector<std::string>& argv,
                      const std::vector<std::string>& env, const Fd& channel);

// A listening socket (SO_REUSEADDR; SO_REUSEPORT when asked), CLOEXEC and non-blocking.
Result<Fd> bind_socket(const Address& address, bool reuse_port, int backlog = 511);

// One address the cluster serves.
class Balancer {
 public:
  struct Grant {
    int group = 0;
    Address address;                       // with the port actually bound
    Scheduling mode = kDefaultScheduling;  // the cluster's, or shared for a Unix socket
    std::optional<Fd> socket;
  };

  Balancer(EventLoop& loop, Scheduling scheduling) : loop_(loop), scheduling_(scheduling) {}
  ~Balancer();

  // Worker `id` (of `slot`, talking over `channel`) serves `address`. In rr mode it joins the
  // group's rotation with a full credit.
  Result<Grant> listen(int id, int slot, Channel* channel, const Address& address);
  // Worker `id` took `count` connections of `group` (rr).
  void ack(int id, int group, int count);
  // A connection the worker handed back (rr): it goes first to the next worker.
  void give_back(int group, Fd connection);
  // Worker `id` takes no more connections (disconnecting, its channel ended or it exited).
  void remove(int id);
  // Worker `id`'s channel drained: it may get connections again.
  void drained(int id);
  // Closes every socket (stop).
  void close();

 private:
  struct Member {
    Channel* channel = nullptr;
    int credit = kCredit;
    bool in_ready = false;
  };
  struct Group {
    int index = 0;
    Scheduling mode = kDefaultScheduling;  // the cluster's, or shared for a Unix socket
    std::string key;                       // the address as asked
    Address address;                       // as bound
    std::unique_ptr<Listener> listener;    // rr
    bool paused = false;
    Fd socket;                          // shared
    std::string unix_path;              // a socket file bound here, removed on close
    std::unordered_map<int, Fd> slots;  // reuseport: a socket per slot
    std::unordered_map<int, Member> members;
    std::deque<int> ready;  // worker ids with credit (entries of removed workers are skipped)
    std::deque<Fd> pending;
  };

  Result<Group*> group_for(const Address& address);
  void on_connection(Group& group, Fd connection);
  void dispatch(Group& group);
  void make_ready(Group& group, int id, Member& member);

  EventLoop& loop_;
  Scheduling scheduling_;
  std::vector<std::unique_ptr<Group>> groups_;
  bool closed_ = false;
};

}  // namespace herd::cluster::detail
