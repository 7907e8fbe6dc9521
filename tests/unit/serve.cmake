# `herd serve` (src/serve): request targets, content types, ranges, dates and basic auth as pure
# functions; the file access below the root; the site on a real server over loopback.
herd_test(serve_test serve_path_test.cc serve_parts_test.cc serve_site_root_test.cc
  serve_site_test.cc
  LIBS herd_serve)
# The test client parses answers with llhttp.
target_link_libraries(serve_test PRIVATE herd_llhttp)
