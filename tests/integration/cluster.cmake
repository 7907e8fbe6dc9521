# The cluster end to end: hello --workers N in each scheduling mode (needs the hello example).
if(TARGET hello)
  herd_test(cluster_test cluster_test.cc TIMEOUT 240)
  add_dependencies(cluster_test hello)
endif()
