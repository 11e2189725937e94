// upfault::gtest in use: the corpus registered as GoogleTest tests against the reference proxy,
// plus scenarios written in C++. One of them expects the wrong thing on purpose
// (code.wrong_expectation_must_fail): ctest runs it expecting a failure.
#include <gtest/gtest.h>

#include "upfault/builder.hpp"
#include "upfault/gtest.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  upfault::gtest::Options options;
  options.proxy = "reference";
  upfault::gtest::register_scenarios({UPFAULT_SCENARIOS_DIR}, options);
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
  return RUN_ALL_TESTS();
}
