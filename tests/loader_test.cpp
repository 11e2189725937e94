#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support.hpp"
#include "upfault/http.hpp"

using namespace upfault;
using upfault::test::errors_of;
using upfault::test::with_steps;

namespace {
bool any_contains(const std::vector<std::string>& errors, const std::string& needle) {
  for (const auto& e : errors)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}
}  // namespace

// A full scenario loads into the model, steps in order.
TEST(Loader, FullScenarioLoads) {
  auto s = test::scenario(R"(
name = "demo"
summary = "a demo"
rfc = "RFC 9112 §6.3"
level = "should"
tags = ["framing", "demo"]
[request]
method = "POST"
path = "/x?y=1"
headers = ["Accept: */*", ["X-Two", "2"]]
body = "payload"
[[upstream.steps]]
read = "request"
[[upstream.steps]]
delay = "1.5 * read_timeout"
[[upstream.steps]]
response = { status = 503, headers = ["Retry-After: 1"], body = "busy" }
[[upstream.steps]]
send_hex = "41 42"
[[upstream.steps]]
close = "rst"
[expect]
status = [502, 503]
within = "2s"
[[expect.or]]
aborted = true
[[expect.stricter]]
status = 500
)");
  EXPECT_EQ(s.name, "demo");
  EXPECT_EQ(s.level, Level::should);
  EXPECT_EQ(s.request.method, "POST");
  ASSERT_EQ(s.request.headers.size(), 2u);
  EXPECT_EQ(s.request.headers[1], (Header{"X-Two", "2"}));
  ASSERT_EQ(s.steps.size(), 5u);
  EXPECT_EQ(s.steps[0].action->toml(), R"(read = "request")");
  EXPECT_TRUE(s.steps[0].action->reads_request());
  EXPECT_EQ(s.steps[1].action->toml(), R"(delay = "1.5 * read_timeout")");
  EXPECT_EQ(s.steps[2].action->kind(), "response");
  EXPECT_EQ(*s.steps[2].action->sends(),
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy");
  EXPECT_EQ(*s.steps[3].action->sends(), "AB");
  EXPECT_EQ(s.steps[4].action->toml(), R"(close = "rst")");
  EXPECT_TRUE(s.steps[4].action->ends_connection());
  ASSERT_EQ(s.expect.accept.size(), 2u);
  ASSERT_NE(s.expect.accept[0].statuses(), nullptr);
  EXPECT_EQ(*s.expect.accept[0].statuses(), (std::vector<int>{502, 503}));
  EXPECT_EQ(s.expect.accept[0].describe(), "502 or 503");
  EXPECT_EQ(s.expect.accept[1].describe(), "an aborted response");
  ASSERT_EQ(s.expect.stricter.size(), 1u);
}

// A structured response with its own framing gets no Content-Length added.
TEST(Loader, ResponseKeepsExplicitFraming) {
  auto s = test::scenario(with_steps("r", R"(
[[upstream.steps]]
response = { status = 200, headers = ["Transfer-Encoding: chunked"], body = "0\r\n\r\n" }
)"));
  EXPECT_EQ(*s.steps[0].action->sends(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// Syntax errors carry the line and column that toml++ reports.
TEST(Loader, SyntaxErrorHasLineAndColumn) {
  auto errors = errors_of("name = \"x\"\nsummary = \n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("bad.toml:2:", 0), 0u) << errors[0];
}

// Unknown keys point at the key and suggest the likely one.
TEST(Loader, UnknownKeySuggestsTheClosest) {
  auto errors = errors_of(with_steps("x", "[[upstream.steps]]\nread = \"head\"\n", "[expect]\nstatsu = 502\n"));
  ASSERT_TRUE(any_contains(errors, "bad.toml:9:1: error: unknown key \"statsu\" in [expect]; did you mean \"status\"?"))
      << ::testing::PrintToString(errors);
}

// Every field's mistakes are reported at the field.
TEST(Loader, FieldMistakesAreLocated) {
  struct Case {
    std::string toml, needle;
  };
  const std::string ok_steps = "[[upstream.steps]]\nread = \"head\"\n";
  std::vector<Case> cases = {
      {with_steps("x", "[[upstream.steps]]\nsned = \"a\"\n"),
       "6:1: error: unknown step \"sned\"; did you mean \"send\"?"},
      {with_steps("x", "[[upstream.steps]]\ndelay = \"5 parsecs\"\n"), "6:9: error: delay: unknown unit"},
      {with_steps("x", "[[upstream.steps]]\nclose = \"slam\"\n"), "6:9: error: close must be \"fin\" or \"rst\""},
      {with_steps("x", "[[upstream.steps]]\nread = \"all\"\n"), "6:8: error: read must be"},
      {with_steps("x", "[[upstream.steps]]\nsend_hex = \"4G\"\n"), "send_hex: 'G' is not a hex digit"},
      {with_steps("x", ok_steps, "[expect]\nstatus = 1000\n"),
       "error: status must be an integer of three digits (000 to 999; RFC 9110 §15 defines 100 to 599)"},
      {with_steps("x", ok_steps, "[expect]\nwithin = \"soon\"\n"), "within: cannot read \"soon\""},
      {with_steps("x", ok_steps, "[expect]\naborted = true\nstatus = 502\n"), "aborted = true contradicts"},
      {with_steps("x", ok_steps, "[expect]\nno_response = \"RFC 9112 §9.6: why\"\nstatus = 502\n"),
       "no_response = \"RFC 9112 §9.6: why\" contradicts"},
      {with_steps("x", ok_steps, "[expect]\nstatus = 502\nearlier_status = 200\n"),
       "earlier_status needs repeat = 2 or more"},
      {with_steps("x",
                  "[request]\nrepeat = 2\nconnection = \"keep-alive\"\nheaders = [\"Connection: close\"]\n" + ok_steps),
       "the client writes the Connection header itself"},
      {with_steps("x", "[request]\nconnection = \"pipelined\"\n" + ok_steps), "needs repeat = 2 or more"},
      {with_steps("x", "[request]\nrepeat = 2\nconnection = \"keepalive\"\n" + ok_steps),
       "connection must be \"close\", \"keep-alive\" or \"pipelined\", not \"keepalive\""},
      {with_steps("x", "[[upstream.steps]]\non_request = []\nread = \"request\"\n"),
       "on_request = [] names no request"},
      {with_steps("x", ok_steps, "[expect]\npassthrough = true\n"), "passthrough = true needs the upstream to send"},
      {with_steps("x", "[[upstream.steps]]\nclose = \"fin\"\n[[upstream.steps]]\nsend = \"late\"\n"),
       "step 2 comes after the connection was closed"},
      {with_steps("Bad Name", ok_steps), "may only hold"},
      {"name = \"x\"\nsummary = \"s\"\nrfc = \"r\"\nlevel = \"must\"\n[expect]\nstatus = 502\n", "needs at least one"},
      {"name = \"x\"\nsummary = \"s\"\nlevel = \"must\"\n" + ok_steps + "[expect]\nstatus = 502\n", "needs \"rfc\""},
      {"name = \"x\"\nsummary = \"s\"\nrfc = \"r\"\nlevel = \"always\"\n" + ok_steps + "[expect]\nstatus = 502\n",
       "4:9: error: level must be"},
      {"name = 5\nsummary = \"s\"\nrfc = \"r\"\nlevel = \"must\"\n" + ok_steps + "[expect]\nstatus = 502\n",
       "1:8: error: name must be a string, not an integer"},
  };
  for (const auto& c : cases) {
    auto errors = errors_of(c.toml);
    EXPECT_TRUE(any_contains(errors, c.needle))
        << "wanted: " << c.needle << "\ngot: " << ::testing::PrintToString(errors);
  }
}

// One broken file loses no other scenario of the suite, and names clash across files.
TEST(Loader, BrokenFilesLoseNothingElse) {
  auto r = load_scenarios({UPFAULT_TESTS_DIR "/data/good", UPFAULT_TESTS_DIR "/data/bad"});
  EXPECT_GE(r.errors.size(), 3u);
  ASSERT_EQ(r.scenarios.size(), 1u);
  EXPECT_EQ(r.scenarios[0].name, "good-one");
  EXPECT_EQ(r.scenarios[0].category, "good");
  for (const auto& e : r.errors) EXPECT_GT(e.where.line, 0) << e.str();
}

// The shipped corpus loads with no error, every scenario documented.
TEST(Loader, CorpusLoadsClean) {
  auto r = load_scenarios({UPFAULT_SCENARIOS_DIR});
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  EXPECT_GE(r.scenarios.size(), 15u);
  for (const auto& s : r.scenarios) {
    EXPECT_FALSE(s.summary.empty()) << s.name;
    EXPECT_FALSE(s.rfc.empty() && s.rationale.empty()) << s.name;
    EXPECT_FALSE(s.category.empty()) << s.name;
    EXPECT_TRUE(s.risk.has_value()) << s.name << " says no risk: the conformance matrix ranks proxies by it";
  }
}

// risk names one of the classes; a typo gets a did-you-mean at the value, a non-string its type.
TEST(Loader, RiskIsAKnownClass) {
  const std::string head = "name = \"x\"\nsummary = \"s\"\nrfc = \"r\"\nlevel = \"must\"\n";
  const std::string rest = "[[upstream.steps]]\nread = \"head\"\n[expect]\nstatus = 502\n";
  for (auto r : kRisks)
    EXPECT_EQ(test::scenario(head + "risk = \"" + std::string(to_string(r)) + "\"\n" + rest).risk, r);
  EXPECT_FALSE(test::scenario(head + rest).risk.has_value()) << "risk is optional in the language";
  auto errors = errors_of(head + "risk = \"desnyc\"\n" + rest);
  EXPECT_TRUE(any_contains(errors,
                           "bad.toml:5:8: error: unknown risk \"desnyc\"; did you mean \"desync\"? (risk is "
                           "one of: desync, lost-information, wrong-error)"))
      << ::testing::PrintToString(errors);
  errors = errors_of(head + "risk = \"fatal\"\n" + rest);
  EXPECT_TRUE(any_contains(errors, "5:8: error: unknown risk \"fatal\" (risk is one of:"))
      << ::testing::PrintToString(errors);
  errors = errors_of(head + "risk = 3\n" + rest);
  EXPECT_TRUE(any_contains(errors, "5:8: error: risk must be a string, not an integer"))
      << ::testing::PrintToString(errors);
  errors = errors_of(head + "riks = \"desync\"\n" + rest);
  EXPECT_TRUE(any_contains(errors, "unknown key \"riks\" in the scenario; did you mean \"risk\"?"))
      << ::testing::PrintToString(errors);
}

// Structured responses: chunk sizes, a missing last chunk, truncation, generated bodies.
TEST(Loader, ResponseOptionsSerialise) {
  auto bytes = [](const std::string& response) {
    auto s = test::scenario(with_steps("r", "[[upstream.steps]]\nresponse = " + response + "\n"));
    return *s.steps[0].action->sends();
  };
  EXPECT_EQ(bytes("{ status = 200, body = \"hello\", chunked = [2, 3] }"),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n");
  EXPECT_EQ(bytes("{ status = 200, body = \"hello\", chunked = true, last_chunk = false }"),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  EXPECT_EQ(bytes("{ status = 200, body = \"hello\", truncate = 20 }"), "HTTP/1.1 200 OK\r\nCon");
  EXPECT_EQ(bytes("{ status = 204, reason = \"Nothing\", auto_length = false }"), "HTTP/1.1 204 Nothing\r\n\r\n");
  EXPECT_EQ(bytes("{ status = 200, body_size = 70 }").size(),
            std::string("HTTP/1.1 200 OK\r\nContent-Length: 70\r\n\r\n").size() + 70);
  EXPECT_TRUE(any_contains(
      errors_of(with_steps("x", "[[upstream.steps]]\nresponse = { status = 200, body = \"abc\", chunked = [1] }\n")),
      "chunk sizes add up to 1, but the body has 3 bytes"));
  EXPECT_TRUE(
      any_contains(errors_of(with_steps("x", "[[upstream.steps]]\nresponse = { status = 200, truncate = 500 }\n")),
                   "truncate must be a byte offset"));
  EXPECT_TRUE(any_contains(errors_of(with_steps("x", "[[upstream.steps]]\ndribble = { data = \"a\" }\n")),
                           "dribble needs every"));
  EXPECT_TRUE(any_contains(errors_of(with_steps("x", "[[upstream.steps]]\nclose = \"fin\"\non_request = 0\n")),
                           "on_request takes request numbers"));
}

// scenarios/README.md's step reference is the registry's, word for word (regenerate it with
// `upfault list --steps --markdown`), and every expectation key is documented.
TEST(Loader, ScenarioReadmeMatchesTheRegistry) {
  std::ifstream in(UPFAULT_SCENARIOS_DIR "/README.md");
  ASSERT_TRUE(in) << "scenarios/README.md is missing";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "by `upfault list --steps --markdown`; a test checks it -->\n";
  const std::string end = "<!-- end of steps -->";
  const auto a = text.find(begin);
  const auto b = text.find(end);
  ASSERT_NE(a, std::string::npos) << "the README lost its generated-steps marker";
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(text.substr(a + begin.size(), b - a - begin.size()), steps_markdown())
      << "scenarios/README.md differs from the step registry: paste `upfault list --steps --markdown` between the "
         "markers";
  const std::string checks_begin = "by `upfault list --checks --markdown`; a test checks it -->\n";
  const auto c = text.find(checks_begin);
  const auto d = text.find("<!-- end of checks -->");
  ASSERT_NE(c, std::string::npos) << "the README lost its generated-checks marker";
  ASSERT_NE(d, std::string::npos);
  EXPECT_EQ(text.substr(c + checks_begin.size(), d - c - checks_begin.size()), checks_markdown())
      << "scenarios/README.md differs from the check registry: run scripts/update-step-docs.sh";
  for (const char* e : {"[[expect.or]]", "[[expect.stricter]]"})
    EXPECT_NE(text.find(std::string("`") + e), std::string::npos) << e << " is not documented";
}

// Each step kind's documented example loads, and each loaded step writes itself back as TOML
// that loads to the same step.
TEST(Loader, EveryStepExampleLoadsAndRoundTrips) {
  ASSERT_GE(step_kinds().size(), 9u);
  for (const auto& k : step_kinds()) {
    SCOPED_TRACE(std::string(k.name));
    const std::string upstream = k.example_protocol == UpstreamProtocol::http1
                                     ? ""
                                     : fmt::format("[upstream]\nprotocol = \"{}\"\n", to_string(k.example_protocol));
    auto r = load_scenario_text(with_steps("example", upstream + std::string(k.example)), "example.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().str();
    ASSERT_EQ(r.scenarios.size(), 1u);
    for (const auto& step : r.scenarios[0].steps) {
      EXPECT_EQ(step.action->kind(), k.name);
      auto again = load_scenario_text(
          with_steps("again", upstream + "[[upstream.steps]]\n" + step.action->toml() + "\n"), "again.toml");
      ASSERT_TRUE(again.errors.empty()) << step.action->toml() << ": " << again.errors.front().str();
      EXPECT_EQ(again.scenarios[0].steps[0].action->toml(), step.action->toml());
      if (step.action->sends()) {
        EXPECT_EQ(*again.scenarios[0].steps[0].action->sends(), *step.action->sends());
      }
    }
  }
}
