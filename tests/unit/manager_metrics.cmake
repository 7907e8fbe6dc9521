# The manager's metrics: Prometheus text and the /metrics responder (loopback only).
herd_test(manager_metrics_test
  prometheus_text_test.cc
  metrics_listener_test.cc
  LIBS herd_metrics
)
