# upfault_add_scenario_tests(TARGET name PROXY profile SCENARIOS dir)
#
# Builds a GoogleTest executable `name` in which every scenario under `dir` is its own test
# (<category>.<scenario>), run through the proxy profile `profile` (a name such as "nginx" or
# "reference", or a path to a profile.toml), and registers the tests with ctest.
set(_UPFAULT_FUNCTIONS_DIR "${CMAKE_CURRENT_LIST_DIR}")
function(upfault_add_scenario_tests)
  cmake_parse_arguments(ARG "" "TARGET;PROXY;SCENARIOS" "" ${ARGN})
  foreach(required TARGET PROXY SCENARIOS)
    if(NOT ARG_${required})
      message(FATAL_ERROR "upfault_add_scenario_tests: ${required} is required")
    endif()
  endforeach()
  get_filename_component(scenarios "${ARG_SCENARIOS}" ABSOLUTE)
  add_executable(${ARG_TARGET} "${_UPFAULT_FUNCTIONS_DIR}/scenario_tests_main.cpp")
  target_link_libraries(${ARG_TARGET} PRIVATE upfault::gtest)
  target_compile_definitions(${ARG_TARGET} PRIVATE
    UPFAULT_TEST_PROXY="${ARG_PROXY}" UPFAULT_TEST_SCENARIOS="${scenarios}"
    UPFAULT_TEST_BINDIR="${UPFAULT_BINDIR}" UPFAULT_TEST_PROXIES_DIR="${UPFAULT_PROXIES_DIR}")
  include(GoogleTest)
  gtest_discover_tests(${ARG_TARGET} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS upfault)
endfunction()
