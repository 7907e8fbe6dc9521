# The CLI's output formatting: golden strings, units, UTF-8 alignment.
herd_test(cli_format_test cli_format_test.cc LIBS herd_cli_format)
