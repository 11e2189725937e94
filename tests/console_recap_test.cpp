// What the console prints after the results (console_recap, setup_hints): from results made here,
// so each rule is seen on its own; tests/console_test.sh runs them through real proxies.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support.hpp"
#include "upfault/report.hpp"

using namespace upfault;
using namespace std::chrono_literals;

namespace {

ScenarioResult result(const std::string& name, VerdictKind v, std::string reason, const std::string& expect,
                      int status = 502) {
  ScenarioResult r;
  const std::string steps = "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\nresponse = { status = 504 }\n";
  r.scenario = std::make_shared<const Scenario>(test::scenario(test::with_steps(name, steps, expect)));
  r.verdict = {v, std::move(reason)};
  r.client = test::complete(status, "x");
  r.upstream = test::asked();
  return r;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

// Failures alike but for the scenario's name (a setup error repeated over a whole category) are
// one recap line with their count; a different one keeps its own line.
TEST(ConsoleRecap, FailuresAlikeButForTheNameAreOneLine) {
  std::vector<ScenarioResult> rs;
  int ms = 3;
  for (const char* n : {"a-one", "a-two", "a-three"})  // alike but for the name and a time
    rs.push_back(result(n, VerdictKind::error,
                        fmt::format("setup: {}: closed after {} ms; the proxy's configuration must route /__h2/ to the "
                                    "tls-h2 port",
                                    n, ms++),
                        "[expect]\nstatus = 502\n"));
  rs.push_back(result("b-other", VerdictKind::fail, "expected 502, got 200", "[expect]\nstatus = 502\n", 200));
  // Failures alike keep their own lines: each is a finding about its scenario.
  rs.push_back(result("c-one", VerdictKind::fail, "expected 502, got 200", "[expect]\nstatus = 502\n", 200));
  const auto text = console_recap(rs, {}, /*failures=*/true, /*colour=*/false);
  EXPECT_NE(text.find("5 of 5 scenarios judged failed or could not be judged:"), std::string::npos) << text;
  EXPECT_NE(text.find("ERROR    3 scenarios (test/a-one, test/a-three, test/a-two), each: setup: a-one:"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("FAIL     test/b-other: expected 502, got 200"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL     test/c-one: expected 502, got 200"), std::string::npos) << text;
  EXPECT_EQ(count(text, "\n"), 5u) << text;  // a blank line, the heading, three lines
  EXPECT_EQ(console_recap(rs, {}, /*failures=*/false, false), "") << "no recap when failures are not asked for";
}

// Not-run scenarios are one line per reason, with their count and categories.
TEST(ConsoleRecap, NotRunIsOneLinePerReason) {
  std::vector<ScenarioResult> rs;
  for (const char* n : {"h-one", "h-two"})
    rs.push_back(result(n, VerdictKind::not_run, "not run: needs upstream protocol h2c, which the proxy lacks",
                        "[expect]\nstatus = 502\n"));
  rs.push_back(result("t-one", VerdictKind::not_run, "not run: needs upstream protocol https, which the proxy lacks",
                      "[expect]\nstatus = 502\n"));
  const auto text = console_recap(rs, {}, true, false);
  EXPECT_NE(text.find("NOT-RUN  2 scenarios (test): needs upstream protocol h2c"), std::string::npos) << text;
  EXPECT_NE(text.find("NOT-RUN  1 scenario (test): needs upstream protocol https"), std::string::npos) << text;
  EXPECT_EQ(count(text, "NOT-RUN"), 2u) << text;
}

// A 504 in a timeout scenario far from the declared read timeout is hinted at; one near it is not;
// an origin's own 504 passed through never is.
TEST(SetupHints, A504FarFromTheDeclaredTimeoutIsHintedAt) {
  auto timeout = result("silent", VerdictKind::pass, "", "[expect]\nstatus = 504\n", 504);
  timeout.client.elapsed = 1000ms;
  const ProxyTimeouts declared{.read = 5000ms, .connect = 1000ms};
  EXPECT_NE(setup_hints({timeout}, declared)
                .find("hint: 1 response was 504 after 1.00 s, well before the declared "
                      "--read-timeout 5.00 s"),
            std::string::npos)
      << setup_hints({timeout}, declared);
  EXPECT_EQ(setup_hints({timeout}, {.read = 1000ms, .connect = 1000ms}), "");
  timeout.client.elapsed = 20000ms;
  EXPECT_NE(setup_hints({timeout}, declared).find("far beyond the declared --read-timeout 5.00 s"), std::string::npos);
  auto origin = result("origin-504", VerdictKind::pass, "", "[expect]\npassthrough = true\n", 504);
  origin.client.elapsed = 10ms;
  EXPECT_EQ(setup_hints({origin}, declared), "");
}

// A reason cut short in the recap is cut between characters, never inside one (the em dash is
// three bytes of UTF-8): every byte sequence stays valid.
TEST(ConsoleRecap, AReasonCutShortStaysValidUtf8) {
  for (std::size_t pad = 4; pad < 11; ++pad) {  // the cut (at byte 159 of the reason) before, in and after the dash
    const std::string reason = std::string(150 + pad, 'x') + " — " + std::string(40, 'y');
    auto r = result("cut", VerdictKind::fail, reason, "[expect]\nstatus = 502\n");
    const auto text = console_recap({r}, {}, true, false);
    const auto at = text.find("test/cut: ");
    ASSERT_NE(at, std::string::npos) << text;
    const auto line = text.substr(at, text.find('\n', at) - at);
    EXPECT_TRUE(line.ends_with("…")) << line;
    EXPECT_EQ(line.find("\\x"), std::string::npos) << "an escaped broken byte: " << line;
    EXPECT_EQ(line.find("\xEF\xBF\xBD"), std::string::npos) << "a replaced broken character: " << line;
    for (std::size_t i = 0; i < line.size(); ++i) {  // each lead byte is followed by its continuations
      const auto c = static_cast<unsigned char>(line[i]);
      const std::size_t n = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 99;
      ASSERT_NE(n, 99u) << "a stray continuation byte at " << i << ": " << line;
      for (std::size_t k = 1; k <= n; ++k)
        ASSERT_TRUE(i + k < line.size() && (static_cast<unsigned char>(line[i + k]) & 0xC0) == 0x80) << line;
      i += n;
    }
  }
}
