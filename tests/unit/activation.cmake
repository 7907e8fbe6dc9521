# Socket activation (LISTEN_FDS) and sd_notify. libsystemd is linked into this test only, as the
# reference implementation the results are compared with; libherd itself does not use it.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
herd_test(socket_activation_test socket_activation_test.cc sd_notify_test.cc sd_watchdog_test.cc LIBS PkgConfig::LIBSYSTEMD)
