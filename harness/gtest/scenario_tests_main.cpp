// main() for upfault_add_scenario_tests(): registers the scenarios of UPFAULT_TEST_SCENARIOS
// against UPFAULT_TEST_PROXY (a profile name or path), then runs GoogleTest.
#include <gtest/gtest.h>

#include <cstdlib>

#include "upfault/gtest.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Where the installed upfault is (unless the environment says otherwise).
  ::setenv("UPFAULT_BINDIR", UPFAULT_TEST_BINDIR, 0);
  ::setenv("UPFAULT_PROXIES_DIR", UPFAULT_TEST_PROXIES_DIR, 0);
  upfault::gtest::Options options;
  options.proxy = UPFAULT_TEST_PROXY;
  upfault::gtest::register_scenarios({UPFAULT_TEST_SCENARIOS}, options);
  return RUN_ALL_TESTS();
}
