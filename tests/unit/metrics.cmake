# src/metrics: Prometheus text and the /metrics responder (loopback only).
herd_test(metrics_test
  prometheus_text_test.cc
  metrics_listener_test.cc
  memory_trend_test.cc
  load_share_test.cc
  proc_stats_test.cc
  process_groups_test.cc
  kept_file_test.cc
  prometheus_code_metrics_test.cc
  LIBS herd_metrics
)
