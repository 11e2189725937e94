// The setup error idiom (problem.hpp): a Result holds a value or a Problem; the Problem's message
// is the user's text, exactly; where it was noticed is kept for debugging.
#include <gtest/gtest.h>

#include <stdexcept>

#include "upfault/problem.hpp"
#include "upfault/rig.hpp"

using namespace upfault;

namespace {
Result<int> half(int n) {
  if (n % 2) return problem(std::to_string(n) + " is odd");
  return n / 2;
}
}  // namespace

// A Problem records the line that made it, and keeps it when a caller adds context.
TEST(Problem, KnowsWhereItWasNoticed) {
  const int line = __LINE__ + 1;
  const auto p = problem("wrong");
  EXPECT_EQ(p.message, "wrong");
  EXPECT_EQ(p.where.line(), static_cast<unsigned>(line));
  EXPECT_NE(std::string(p.where.file_name()).find("problem_test.cpp"), std::string::npos);
  const auto q = p.prefixed("--flag: ");
  EXPECT_EQ(q.message, "--flag: wrong");
  EXPECT_EQ(q.where.line(), p.where.line());
}

// value() on a Problem throws std::runtime_error with the message, nothing added.
TEST(Problem, ValueThrowsTheMessage) {
  EXPECT_EQ(half(4).value(), 2);
  ASSERT_FALSE(half(3));
  EXPECT_EQ(half(3).error().message, "3 is odd");
  try {
    (void)half(3).value();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "3 is odd");
  }
}

// A setup function's problem is the text upfault prints.
TEST(Problem, SetupFunctionsSayWhatIsWrong) {
  EXPECT_EQ(parse_host_port("127.0.0.1").error().message, "\"127.0.0.1\" has no port; write HOST:PORT");
  EXPECT_EQ(parse_host_port("[::1]8080").error().message, "\"[::1]8080\" is not [IPv6]:PORT");
  EXPECT_EQ(parse_host_port("127.0.0.1:0").error().message, "\"0\" is not a port number");
  EXPECT_EQ(parse_host_port("127.0.0.1:0", /*allow_any_port=*/true).value().port, 0);
  // A name in the reserved .invalid domain: no test names an address outside loopback.
  EXPECT_EQ(parse_loopback_address("http://127.upfault.invalid:80/", false).error().message,
            "127.upfault.invalid is not a loopback address; pass --allow-remote to use another host");
  const auto hp = parse_loopback_address("http://localhost:8080/x", false).value();
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 8080);
  EXPECT_EQ(hp.path, "/x");
}
