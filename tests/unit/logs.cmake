# src/logs: rotation, line splitting, app output pipes, tail.
herd_test(logs_test
  rotating_file_test.cc
  line_splitter_test.cc
  output_pipe_test.cc
  log_tail_test.cc
  log_line_format_test.cc
  LIBS herd_logs
  TIMEOUT 180
)
