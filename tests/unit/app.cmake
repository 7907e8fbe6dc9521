# src/app: AppSpec and its settings table, ecosystem files, command resolution.
herd_test(app_test app_spec_test.cc app_settings_test.cc health_check_test.cc
  watchdog_hooks_settings_test.cc depends_test.cc diagnostics_settings_test.cc
  resources_settings_test.cc LIBS herd_app)
herd_test(ecosystem_test ecosystem_test.cc ecosystem_file_test.cc ecosystem_depth_test.cc
  relaxed_json_test.cc
  LIBS herd_app)
herd_test(command_test command_test.cc LIBS herd_app)
# What the daemon takes from outside: app names, counts, targets, control requests.
herd_test(protocol_input_test app_name_test.cc control_request_test.cc instances_test.cc
  protocol_table_test.cc target_pattern_test.cc json_members_test.cc LIBS herd_daemon)
