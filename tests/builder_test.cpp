// ScenarioBuilder speaks the registries' language: every registered step kind and check kind can
// be written through step() and expect() and reads back as itself; the named methods write the
// same TOML as the generic ones; an unknown key is refused with a did-you-mean.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/builder.hpp"
#include "upfault/loader.hpp"

using namespace upfault;

namespace {

struct Entry {
  std::string key;
  std::string value;
};

// `value` up to a comment: a '#' outside a string.
std::string without_comment(std::string_view value) {
  char quote = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quote) {
      if (c == '\\' && quote == '"')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      value = value.substr(0, i);
      break;
    }
  }
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return std::string(value);
}

// Every `key = value` line of TOML written one entry a line, as the registries' examples and each
// step's and check's toml() are; table headers are skipped.
std::vector<Entry> entries(std::string_view toml) {
  std::vector<Entry> out;
  while (!toml.empty()) {
    const auto eol = toml.find('\n');
    const auto line = toml.substr(0, eol);
    toml = eol == std::string_view::npos ? std::string_view{} : toml.substr(eol + 1);
    if (line.empty() || line.front() == '[') continue;
    const auto eq = line.find(" = ");
    EXPECT_NE(eq, std::string_view::npos) << line;
    if (eq != std::string_view::npos)
      out.push_back({std::string(line.substr(0, eq)), without_comment(line.substr(eq + 3))});
  }
  return out;
}

// The one entry of a step's or check's toml().
Entry entry(const std::string& toml) {
  auto all = entries(toml);
  EXPECT_EQ(all.size(), 1u) << toml;
  return all.empty() ? Entry{} : all.front();
}

ScenarioBuilder base() { return ScenarioBuilder("built", "written in C++").rationale("a test of the builder"); }

// A scenario whose only step is `key = value`.
Scenario with_step(const Entry& e) { return base().step(e.key, e.value).expect_status(502).build(); }

// The upstream sends a complete 200 (as passthrough needs); `key = value` is expected, with
// status = 200 unless it is the status or cannot go with one (a check of how the exchange ended
// without a response: aborted, no_response).
Scenario with_check(const Entry& e) {
  // Two requests, so that checks of earlier responses have one.
  auto b = base().repeat(2).read_request().response(200, {{"X-A", "1"}}, "ok").expect(e.key, e.value);
  if (e.key == "status") return b.build();
  try {
    auto with_status = b;
    return with_status.expect_status(200).build();
  } catch (const std::invalid_argument&) {
    return b.build();
  }
}

// The check `key` of the scenario's first outcome, or null.
const Check* check(const Scenario& s, std::string_view key) {
  if (s.expect.accept.empty()) return nullptr;
  for (const auto& c : s.expect.accept.front().checks)
    if (c->key() == key) return c.get();
  return nullptr;
}

// The steps and checks a scenario holds, as TOML.
std::vector<std::string> toml_of(const Scenario& s) {
  std::vector<std::string> out;
  for (const auto& step : s.steps) out.push_back(step.action->toml());
  for (const auto& o : s.expect.accept)
    for (const auto& c : o.checks) out.push_back(c->toml());
  return out;
}

// What `f` throws as std::invalid_argument ("" when it does not).
std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Each step kind's documented example, given to step(), builds the steps the loader reads from it;
// each reads back (toml()) as the same step: same TOML, same bytes sent.
TEST(Builder, EveryStepKindIsWrittenThroughStepAndReadsBackAsItself) {
  ASSERT_FALSE(step_kinds().empty());
  for (const auto& kind : step_kinds()) {
    SCOPED_TRACE(kind.example);
    auto b = base();
    for (const auto& e : entries(kind.example)) {
      EXPECT_EQ(e.key, kind.name);
      b.step(e.key, e.value);
    }
    const auto built = b.expect_status(502).build();
    ASSERT_FALSE(built.steps.empty());
    const auto file = load_scenario_text("name = \"file\"\nsummary = \"s\"\nrationale = \"r\"\nlevel = \"must\"\n" +
                                             std::string(kind.example) + "[expect]\nstatus = 502\n",
                                         "example.toml");
    ASSERT_EQ(file.errors.size(), 0u) << file.errors.front().str();
    EXPECT_EQ(toml_of(built), toml_of(file.scenarios.front()));
    for (const auto& step : built.steps) {
      const auto& action = *step.action;
      EXPECT_EQ(action.kind(), kind.name);
      const auto again = with_step(entry(action.toml()));
      ASSERT_EQ(again.steps.size(), 1u);
      const auto& back = *again.steps.front().action;
      EXPECT_EQ(back.toml(), action.toml());
      EXPECT_EQ(back.sends() ? *back.sends() : "", action.sends() ? *action.sends() : "");
    }
  }
}

// Each check kind's example, given to expect(), builds that check, which reads back (toml()) as
// the example itself.
TEST(Builder, EveryCheckKindIsWrittenThroughExpectAndReadsBackAsItself) {
  ASSERT_FALSE(check_kinds().empty());
  for (const auto& kind : check_kinds()) {
    SCOPED_TRACE(kind.toml_example);
    const auto e = entry(std::string(kind.toml_example));
    EXPECT_EQ(e.key, kind.key);
    const auto s = with_check(e);
    const auto* c = check(s, kind.key);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->toml(), kind.toml_example);
  }
}

// The named methods are the generic ones with the TOML they stand for.
TEST(Builder, NamedMethodsWriteWhatTheySay) {
  EXPECT_EQ(toml_of(base()
                        .read_head()
                        .send("x")
                        .response(200, {{"X-A", "1"}}, "ok")
                        .delay("1s")
                        .dribble("ab", 1, "10ms")
                        .half_close()
                        .close_fin()
                        .expect_status({502, 504})
                        .within("2s")
                        .build()),
            toml_of(base()
                        .step("read", "\"head\"")
                        .step("send", "\"x\"")
                        .step("response", "{ status = 200, headers = [\"X-A: 1\"], body = \"ok\" }")
                        .step("delay", "\"1s\"")
                        .step("dribble", "{ data = \"ab\", chunk = 1, every = \"10ms\" }")
                        .step("half_close", "true")
                        .step("close", "\"fin\"")
                        .expect("status", "[502, 504]")
                        .expect("within", "\"2s\"")
                        .build()));
  EXPECT_EQ(toml_of(base().read_request().close_rst().expect_aborted().build()),
            toml_of(base().step("read", "\"request\"").step("close", "\"rst\"").expect("aborted", "true").build()));
  EXPECT_EQ(toml_of(base().hang("2s").expect_status(504).build()),
            toml_of(base().step("hang", "\"2s\"").expect("status", "504").build()));
  EXPECT_EQ(toml_of(base().read_request().response(200).hang().expect_passthrough().build()),
            toml_of(base()
                        .step("read", "\"request\"")
                        .step("response", "{ status = 200, headers = [], body = \"\" }")
                        .step("hang", "true")
                        .expect("passthrough", "true")
                        .build()));
}

// A key that no step or check kind has is refused at once, with the likely one.
TEST(Builder, UnknownKeysAreRefusedWithASuggestion) {
  EXPECT_EQ(refusal([] { base().step("hnag", "true"); }),
            "ScenarioBuilder: unknown step \"hnag\"; did you mean \"hang\"?");
  EXPECT_EQ(refusal([] { base().expect("stauts", "502"); }),
            "ScenarioBuilder: unknown check \"stauts\"; did you mean \"status\"?");
  const auto far = refusal([] { base().step("teleport", "true"); });
  EXPECT_EQ(far.rfind("ScenarioBuilder: unknown step \"teleport\" (steps: read, ", 0), 0u) << far;
  // A known key with a wrong value is the loader's to say, at build().
  EXPECT_NE(refusal([] { (void)base().step("hang", "\"soon\"").expect_status(504).build(); }).find("hang"),
            std::string::npos);
}

// repeat() writes [request] repeat and connection, alone or after request().
TEST(Builder, RepeatSetsRequestsAndConnections) {
  auto s = base().repeat(3, "pipelined").read_request().expect_status(502).build();
  EXPECT_EQ(s.request.repeat, 3);
  EXPECT_EQ(s.request.connections, ClientConnections::pipelined);
  auto post = base().request("POST", "/x", "b").repeat(2, "keep-alive").read_request().expect_status(502).build();
  EXPECT_EQ(post.request.method, "POST");
  EXPECT_EQ(post.request.repeat, 2);
  EXPECT_EQ(post.request.connections, ClientConnections::keep_alive);
  EXPECT_THROW((void)base().repeat(2, "keepalive").read_request().expect_status(502).build(), std::invalid_argument);
}
