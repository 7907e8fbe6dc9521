# The CLI's output formatting: golden strings, units, UTF-8 alignment.
herd_test(cli_format_test cli_format_test.cc cli_units_test.cc cli_mini_list_test.cc
  format_code_metrics_test.cc
  LIBS herd_cli_render)
# The layout of `herd monit`'s screen, without a terminal.
herd_test(cli_monit_test monit_view_test.cc cli_diagnostics_test.cc LIBS herd_cli_render)
# `herd startup`: the systemd unit text and its install/removal.
herd_test(cli_startup_test cli_startup_test.cc LIBS herd_cli_startup)
# `herd start`'s flags and their layering over ecosystem files.
herd_test(cli_start_test cli_start_test.cc LIBS herd_cli_start)
# `herd serve`'s command line and the app it makes.
herd_test(cli_serve_test cli_serve_test.cc LIBS herd_cli_serve)
