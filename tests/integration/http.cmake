# The HTTP server's integration tests: load, backpressure, graceful close, real clients.
herd_test(http_load_test http_load_test.cc TIMEOUT 180)
target_link_libraries(http_load_test PRIVATE herd_llhttp)

herd_test(http_close_test http_close_test.cc)
target_link_libraries(http_close_test PRIVATE herd_llhttp)

herd_test(http_curl_test http_curl_test.cc)
target_link_libraries(http_curl_test PRIVATE herd_llhttp)
