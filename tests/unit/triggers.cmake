# Restart triggers: cron schedules, ignore_watch rules, and the inotify file watch.
herd_test(triggers_test
  cron_test.cc
  watch_filter_test.cc
  file_watch_test.cc
  LIBS herd_daemon
)
