# The net layer's unit tests: addresses, listeners, streams (loopback only).
herd_test(net_test
  address_test.cc
  listener_test.cc
  stream_test.cc
  stream_write_test.cc
)
