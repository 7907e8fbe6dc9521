// main() of every test binary: a helper role (see child_process.h) or the GoogleTest run.
#include <gtest/gtest.h>

#include "support/child_process.h"

int main(int argc, char** argv) {
  int code = 0;
  if (herd::test::run_role_if_requested(argc, argv, &code)) return code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
