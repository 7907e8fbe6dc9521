# The HTTP server's unit tests: the parser on its own, then a real server on loopback.
herd_test(http_parser_test http_parser_test.cc)
# The parser's internal header (src/http/request_parser.h) and llhttp's.
target_include_directories(http_parser_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(http_parser_test PRIVATE herd_llhttp)

herd_test(http_server_test http_server_test.cc)
# The test client parses answers with llhttp.
target_link_libraries(http_server_test PRIVATE herd_llhttp)

herd_test(http_errors_test http_errors_test.cc)
target_link_libraries(http_errors_test PRIVATE herd_llhttp)

herd_test(http_response_test http_response_test.cc)
target_include_directories(http_response_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(http_response_test PRIVATE herd_llhttp)

herd_test(http_metrics_test http_metrics_test.cc)
target_link_libraries(http_metrics_test PRIVATE herd_llhttp)

# libherd's report to herd (src/http/herd_report.h), on a notify socket of the test's own.
herd_test(herd_report_test herd_report_test.cc)
target_include_directories(herd_report_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
