# The examples run as processes: curl against hello, socket activation and sd_notify end to end,
# SIGTERM/SIGINT, and encrypt's worker threads. They need the example binaries (built next to
# the test in build/bin), so the test exists only when the examples are built.
if(TARGET hello AND TARGET encrypt)
  find_package(OpenSSL REQUIRED COMPONENTS Crypto)
  herd_test(http_examples_test http_examples_test.cc encrypt_example_test.cc LIBS OpenSSL::Crypto TIMEOUT 180)
  add_dependencies(http_examples_test hello encrypt)
endif()
