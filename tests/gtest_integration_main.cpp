// upfault::gtest in use: the corpus registered as GoogleTest tests against the reference proxy,
// plus scenarios written in C++ and tests/data/gtest/. Some exist only for ctest's checks of the
// layer itself (tests/CMakeLists.txt), which run them by name:
// - code.wrong_expectation_must_fail and must_fail.wrong_status expect the wrong thing on purpose:
//   their failure must read like `upfault run`'s, at the scenario's file and line;
// - must_fail.* also holds a file that does not load (upfault_load.*);
// - no_proxy.* are for a proxy that does not exist: each must fail with the setup error;
// - concurrency.first and concurrency.second go through a relay that holds each request until two
//   are in flight at once (tests/data/gate/): they pass only when they run concurrently.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "upfault/builder.hpp"
#include "upfault/gtest.hpp"

namespace {

// A scenario the gate relay lets through only in company.
upfault::Scenario gated(const std::string& name) {
  return upfault::ScenarioBuilder(name, "Answered only while another scenario is in flight too")
      .rationale("proves that upfault::gtest runs the selected scenarios concurrently")
      .category("concurrency")
      .read_request()
      .response(200, {}, name)
      .expect_status(200)
      .build();
}

// A scenario for a proxy whose profile does not exist.
upfault::Scenario unstartable(const std::string& name) {
  return upfault::ScenarioBuilder(name, "Never runs: its proxy cannot be started")
      .rationale("proves that a setup error fails every test")
      .category("no-proxy")
      .read_request()
      .response(200)
      .expect_status(200)
      .build();
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  upfault::gtest::Options options;
  options.proxy = "reference";
  const std::vector<std::filesystem::path> files = {UPFAULT_SCENARIOS_DIR, UPFAULT_TESTS_DIR "/data/gtest"};
  upfault::gtest::register_scenarios(files, options);
  upfault::gtest::register_scenarios(
      {upfault::ScenarioBuilder("dup-content-length-in-code", "Two Content-Length values, written in C++")
           .rfc("RFC 9112 §6.3")
           .read_request()
           .send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
           .close_fin()
           .expect_status(502)
           .build(),
       upfault::ScenarioBuilder("wrong-expectation-must-fail", "A valid 200 where 502 is expected: must fail")
           .rationale("checks that a wrong verdict fails the GoogleTest test")
           .read_request()
           .response(200, {{"Content-Type", "text/plain"}}, "hello")
           .expect_status(502)
           .build()},
      options);
  upfault::gtest::Options through_gate = options;
  through_gate.proxy = UPFAULT_TESTS_DIR "/data/gate/profile.toml";
  upfault::gtest::register_scenarios({gated("first"), gated("second")}, through_gate);
  upfault::gtest::Options no_proxy = options;
  no_proxy.proxy = "no-such-proxy";
  upfault::gtest::register_scenarios({unstartable("first"), unstartable("second")}, no_proxy);
  return RUN_ALL_TESTS();
}
