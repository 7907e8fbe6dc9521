# The manager's metrics: the Prometheus text of the process list (shared by `herd metrics` and
# the daemon) and the daemon's tiny /metrics responder on the net layer (not the HTTP server).
add_library(herd_manager_metrics STATIC
  ${CMAKE_CURRENT_LIST_DIR}/prometheus_text.cc
  ${CMAKE_CURRENT_LIST_DIR}/metrics_listener.cc
)
target_include_directories(herd_manager_metrics PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(herd_manager_metrics PUBLIC herd_net nlohmann_json::nlohmann_json)
