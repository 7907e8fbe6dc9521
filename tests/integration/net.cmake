# The net layer's integration tests: many connections and backpressure on one loop.
herd_test(net_echo_test echo_test.cc TIMEOUT 120)
