# The manager's log layer: rotating log files, line splitting, app output pipes, tail.
add_library(herd_manager_logs STATIC
  ${CMAKE_CURRENT_LIST_DIR}/rotating_file.cc
  ${CMAKE_CURRENT_LIST_DIR}/line_splitter.cc
  ${CMAKE_CURRENT_LIST_DIR}/output_pipe.cc
  ${CMAKE_CURRENT_LIST_DIR}/log_tail.cc
)
target_link_libraries(herd_manager_logs PUBLIC herd_loop)
target_include_directories(herd_manager_logs PUBLIC ${PROJECT_SOURCE_DIR}/src)
