# herd_test(NAME SOURCES... [LIBS libs...]): one GoogleTest binary in build/bin, registered with
# CTest test by test so that a failure names the case. Every test gets a timeout of its own.
include(GoogleTest)
function(herd_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE herd::herd herd_test_support GTest::gmock ${ARG_LIBS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT ${ARG_TIMEOUT})
endfunction()
