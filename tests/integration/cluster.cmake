# The cluster end to end: hello --workers N in each scheduling mode (needs the hello example).
if(TARGET hello)
  herd_test(cluster_test cluster_test.cc TIMEOUT 240)
  add_dependencies(cluster_test hello)
endif()
# The cluster API from C++: the test binary is its own primary and workers.
herd_test(cluster_api_test cluster_api_test.cc TIMEOUT 120)
