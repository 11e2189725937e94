#include <gtest/gtest.h>

#include "upfault/duration.hpp"

using namespace upfault;
using namespace std::chrono_literals;

namespace {
Millis parse(const std::string& text, ProxyTimeouts t = {}) {
  auto d = DurationExpr::parse(text);
  EXPECT_TRUE(d) << text << ": " << d.error();
  return d ? d->resolve(t) : Millis{-1};
}
std::string error_of(const std::string& text) {
  auto d = DurationExpr::parse(text);
  EXPECT_FALSE(d) << text;
  return d ? "" : d.error().message;
}
}  // namespace

// Durations with units resolve to milliseconds.
TEST(Duration, UnitsResolveToMilliseconds) {
  EXPECT_EQ(parse("300ms"), 300ms);
  EXPECT_EQ(parse("2s"), 2000ms);
  EXPECT_EQ(parse("1.5s"), 1500ms);
  EXPECT_EQ(parse("1m"), 60000ms);
  EXPECT_EQ(parse("2500us"), 3ms);  // rounded
}

// Timeout names scale with the proxy's configuration.
TEST(Duration, TimeoutNamesScaleWithTheProxy) {
  ProxyTimeouts t{Millis{2000}, Millis{500}};
  EXPECT_EQ(parse("read_timeout", t), 2000ms);
  EXPECT_EQ(parse("1.5 * read_timeout", t), 3000ms);
  EXPECT_EQ(parse("2 * connect_timeout + 100ms", t), 1100ms);
  EXPECT_EQ(parse("3 * read_timeout + 1s", ProxyTimeouts{}), 4000ms);
  EXPECT_TRUE(DurationExpr::parse("read_timeout").value().relative());
  EXPECT_FALSE(DurationExpr::parse("1s").value().relative());
}

// Bad durations say what is wrong.
TEST(Duration, BadDurationsExplainThemselves) {
  EXPECT_NE(error_of("5").find("needs a unit"), std::string::npos);
  EXPECT_NE(error_of("5 parsecs").find("unknown unit"), std::string::npos);
  EXPECT_NE(error_of("2 * write_timeout").find("unknown name"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("1s +").find("missing a term"), std::string::npos);
  EXPECT_NE(error_of("99999h").find("unknown unit"), std::string::npos);
  EXPECT_NE(error_of("100000m").find("too large"), std::string::npos);
  // within = "1440m" was a 36-hour deadline: durations stop at an hour, or 100 × a timeout.
  EXPECT_NE(error_of("1440m").find("at most 1h"), std::string::npos);
  EXPECT_NE(error_of("101 * read_timeout").find("too large"), std::string::npos);
  EXPECT_TRUE(DurationExpr::parse("60m"));
  EXPECT_TRUE(DurationExpr::parse("100 * read_timeout + 100 * connect_timeout"));
}
