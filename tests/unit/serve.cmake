# `herd serve` (src/serve): request targets, content types, ranges, dates and basic auth as pure
# functions.
herd_test(serve_test serve_path_test.cc serve_parts_test.cc LIBS herd_serve)
