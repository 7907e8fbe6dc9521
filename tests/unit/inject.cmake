# herd's bind library (src/inject/bind_preload.c, blocking_accept.c) compiled into its own test
# binary with HERD_INJECT_TESTING: its bind(), listen(), unlink(), unlinkat(), fcntl(), ioctl() and
# accept() then stand in front of libc's for the whole binary, as LD_PRELOAD puts them in front in
# an injected program, so no other test may share the binary. Unlike libherd-inject.so it is
# instrumented in the sanitizer build.
herd_test(inject_preload_test
  inject_preload_test.cc
  inject_preload_unix_test.cc
  inject_preload_blocking_test.cc
  inject_preload_accept_count_test.cc
  ${PROJECT_SOURCE_DIR}/src/inject/bind_preload.c
  ${PROJECT_SOURCE_DIR}/src/inject/blocking_accept.c
  ${PROJECT_SOURCE_DIR}/src/inject/unlink_guard.c
  LIBS ${CMAKE_DL_LIBS} Threads::Threads
)
target_compile_definitions(inject_preload_test PRIVATE HERD_INJECT_TESTING)
target_include_directories(inject_preload_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
set_target_properties(inject_preload_test PROPERTIES C_STANDARD 11)
