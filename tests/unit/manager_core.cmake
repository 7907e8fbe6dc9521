# The daemon's building blocks that need no daemon: restart policy, spawning, state files.
herd_test(manager_core_test
  restart_policy_test.cc
  spawn_test.cc
  daemon_log_test.cc
  user_test.cc
  LIBS herd_manager
)
