# The daemon's building blocks that need no daemon: restart policy, spawning, state files,
# cluster mode's listen set and bind channel, the Supervisor's own teardown, the CPUs -i max counts,
# the home's watch and lock.
herd_test(daemon_test
  restart_policy_test.cc
  spawn_test.cc
  daemon_log_test.cc
  user_test.cc
  cgroup_test.cc
  cgroup_meter_test.cc
  listen_set_test.cc
  bind_channel_test.cc
  bind_channel_malformed_test.cc
  supervisor_test.cc
  instance_status_test.cc
  usable_cpus_test.cc
  http_status_line_test.cc
  watchdog_test.cc
  code_metrics_test.cc
  home_watch_test.cc
  LIBS herd_daemon
)
