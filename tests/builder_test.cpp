// ScenarioBuilder speaks the registries' language: every registered step kind and check kind can
// be written through step() and expect() and reads back as itself; the named methods write the
// same TOML as the generic ones; an unknown key is refused with a did-you-mean. The rest of the
// language (on_request, [[expect.or]], [[expect.stricter]]) builds what the corpus's files hold.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
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
    const std::string upstream = kind.example_protocol == UpstreamProtocol::http1
                                     ? ""
                                     : fmt::format("[upstream]\nprotocol = \"{}\"\n", to_string(kind.example_protocol));
    if (!upstream.empty()) b.protocol(kind.example_protocol);
    for (const auto& e : entries(kind.example)) {
      EXPECT_EQ(e.key, kind.name);
      b.step(e.key, e.value);
    }
    const auto built = b.expect_status(502).build();
    ASSERT_FALSE(built.steps.empty());
    const auto file = load_scenario_text("name = \"file\"\nsummary = \"s\"\nrationale = \"r\"\nlevel = \"must\"\n" +
                                             upstream + std::string(kind.example) + "[expect]\nstatus = 502\n",
                                         "example.toml");
    ASSERT_EQ(file.errors.size(), 0u) << file.errors.front().str();
    EXPECT_EQ(toml_of(built), toml_of(file.scenarios.front()));
    for (const auto& step : built.steps) {
      const auto& action = *step.action;
      EXPECT_EQ(action.kind(), kind.name);
      const auto again = upstream.empty() ? with_step(entry(action.toml()))
                                          : base()
                                                .protocol(kind.example_protocol)
                                                .step(entry(action.toml()).key, entry(action.toml()).value)
                                                .expect_status(502)
                                                .build();
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

namespace {

// A corpus file, loaded as `upfault run` loads it.
Scenario corpus_file(const std::string& relative) {
  auto r = load_scenarios({std::string(UPFAULT_SCENARIOS_DIR) + "/" + relative});
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front().str());
  EXPECT_EQ(r.scenarios.size(), 1u);
  return r.scenarios.empty() ? Scenario{} : std::move(r.scenarios.front());
}

// Each outcome of a list, as the TOML of its checks.
std::vector<std::vector<std::string>> outcomes_of(const std::vector<Outcome>& list) {
  std::vector<std::vector<std::string>> out;
  for (const auto& o : list) {
    out.emplace_back();
    for (const auto& c : o.checks) out.back().push_back(c->toml());
  }
  return out;
}

// Each step as its TOML and the requests it is limited to.
std::vector<std::pair<std::string, std::vector<int>>> steps_of(const Scenario& s) {
  std::vector<std::pair<std::string, std::vector<int>>> out;
  for (const auto& step : s.steps) out.emplace_back(step.action->toml(), step.on_request);
  return out;
}

// Two scenarios say the same: metadata, request, steps, and every outcome.
void expect_same(const Scenario& built, const Scenario& file) {
  EXPECT_EQ(built.name, file.name);
  EXPECT_EQ(built.category, file.category);
  EXPECT_EQ(built.summary, file.summary);
  EXPECT_EQ(built.rfc, file.rfc);
  EXPECT_EQ(built.rationale, file.rationale);
  EXPECT_EQ(built.level, file.level);
  EXPECT_EQ(built.risk, file.risk);
  EXPECT_EQ(built.tags, file.tags);
  EXPECT_EQ(built.request.repeat, file.request.repeat);
  EXPECT_EQ(built.request.connections, file.request.connections);
  EXPECT_EQ(steps_of(built), steps_of(file));
  EXPECT_EQ(outcomes_of(built.expect.accept), outcomes_of(file.expect.accept));
  EXPECT_EQ(outcomes_of(built.expect.stricter), outcomes_of(file.expect.stricter));
  EXPECT_EQ(built.upstream_response.has_value(), file.upstream_response.has_value());
}

}  // namespace

// expect_or() and expect_stricter() write [[expect.or]] and [[expect.stricter]]: the corpus's
// unknown-transfer-coding.toml, written in C++, is the scenario the file is.
TEST(Builder, AlternativeAndStricterOutcomesAreTheFilesOwn) {
  const auto builder =
      ScenarioBuilder("unknown-transfer-coding", "Transfer-Encoding: gzip (not chunked): the body runs to the close")
          .rfc("RFC 9112 §6.3; RFC 9112 §6.1")
          .rationale(
              "In a response whose Transfer-Encoding does not end in chunked, the body is delimited by the close; a "
              "proxy may forward it. Some reject it (502): stricter than required.")
          .level(Level::should)
          .risk(Risk::lost_information)
          .tag("framing")
          .tag("transfer-encoding")
          .category("framing")
          .read_request()
          .send("HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: gzip\r\n\r\nnot really gzip")
          .close_fin()
          .expect_status(200)
          .expect("body", "\"not really gzip\"")
          .expect_or()
          .expect_status(501)
          .expect_stricter()
          .expect_status(502);
  const auto toml = builder.toml();
  EXPECT_NE(toml.find("[expect]\nstatus = [200]\nbody = \"not really gzip\"\n[[expect.or]]\nstatus = [501]\n"
                      "[[expect.stricter]]\nstatus = [502]\n"),
            std::string::npos)
      << toml;
  const auto built = builder.build();
  ASSERT_EQ(built.expect.accept.size(), 2u);
  ASSERT_EQ(built.expect.stricter.size(), 1u);
  expect_same(built, corpus_file("framing/unknown-transfer-coding.toml"));
  // The outcomes may come in any order, and several of each.
  const auto mixed = base()
                         .read_request()
                         .response(200)
                         .expect_status(200)
                         .expect_stricter()
                         .expect_status(502)
                         .expect_or()
                         .expect_status(503)
                         .expect_or()
                         .expect_status(504)
                         .build();
  EXPECT_EQ(outcomes_of(mixed.expect.accept),
            (std::vector<std::vector<std::string>>{{"status = [200]"}, {"status = [503]"}, {"status = [504]"}}));
  EXPECT_EQ(outcomes_of(mixed.expect.stricter), (std::vector<std::vector<std::string>>{{"status = [502]"}}));
}

// on_request() limits the step before it: the corpus's excess-body-not-next-response.toml,
// written in C++, is the scenario the file is; a list writes `on_request = [N, …]`.
TEST(Builder, StepsLimitedToRequestsAreTheFilesOwn) {
  const auto file = corpus_file("desync/excess-body-not-next-response.toml");
  auto builder = ScenarioBuilder(file.name, file.summary)
                     .rfc(file.rfc)
                     .rationale(file.rationale)
                     .risk(Risk::desync)
                     .category("desync")
                     .repeat(2, "keep-alive")
                     .read_request()
                     .send(
                         "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\nContent-Length: "
                         "8\r\nX-Smuggled: yes\r\n\r\nsmuggled")
                     .on_request(1)
                     .step("response", "{ status = 200, body = \"second\" }")
                     .on_request(2)
                     .expect("earlier_status", "200")
                     .expect_passthrough()
                     .expect("header_absent", "[\"X-Smuggled\"]");
  for (const auto& t : file.tags) builder.tag(t);
  EXPECT_NE(builder.toml().find("send = \"HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(builder.toml().find("smuggled\"\non_request = 1\n[[upstream.steps]]\n"), std::string::npos)
      << builder.toml();
  expect_same(builder.build(), file);

  const auto listed = base()
                          .repeat(3, "keep-alive")
                          .read_request()
                          .close_rst()
                          .on_request({1, 2})
                          .response(200, {}, "ok")
                          .expect_status(200)
                          .expect_or()
                          .expect_status(502)
                          .build();
  EXPECT_EQ(steps_of(listed)[1], (std::pair<std::string, std::vector<int>>{"close = \"rst\"", {1, 2}}));
  EXPECT_TRUE(steps_of(listed)[0].second.empty());
  EXPECT_TRUE(steps_of(listed)[2].second.empty());
}

// Misuse is refused: at once when the call itself cannot be right, at build() (the loader's words,
// as for a file) when the TOML it writes is wrong.
TEST(Builder, OutcomesAndLimitedStepsMisusedAreRefused) {
  EXPECT_EQ(refusal([] { base().on_request(1); }), "ScenarioBuilder: on_request() comes after the step it limits");
  EXPECT_EQ(refusal([] { base().read_request().on_request(1).on_request(2); }),
            "ScenarioBuilder: on_request() twice for one step");
  EXPECT_EQ(refusal([] { base().read_request().expect_or(); }),
            "ScenarioBuilder: expect_or() follows [expect] with no check yet");
  EXPECT_EQ(refusal([] { base().read_request().expect_status(502).expect_or().expect_stricter(); }),
            "ScenarioBuilder: expect_stricter() follows an outcome with no check yet");
  EXPECT_EQ(refusal([] { base().read_request().expect_status(502).expect_stricter().expect_or(); }),
            "ScenarioBuilder: expect_or() follows an outcome with no check yet");
  auto at_build = [](const ScenarioBuilder& b) { return refusal([&] { (void)b.build(); }); };
  EXPECT_NE(at_build(base().repeat(2).read_request().on_request(0).response(200).expect_status(200))
                .find("on_request takes request numbers from 1 to 1000"),
            std::string::npos);
  EXPECT_NE(at_build(base().repeat(2).read_request().on_request(std::vector<int>{}).response(200).expect_status(200))
                .find("on_request = [] names no request"),
            std::string::npos);
  // An outcome left without a check, as a file's [[expect.or]] would be.
  EXPECT_NE(
      at_build(base().read_request().response(200).expect_status(200).expect_or()).find("an expectation needs status"),
      std::string::npos);
  // Its checks are the loader's to judge: an alternative that contradicts itself.
  EXPECT_NE(
      at_build(base().read_request().response(200).expect_status(200).expect_or().expect_status(502).expect_aborted())
          .find("contradicts checks of a complete response"),
      std::string::npos);
}

// build() records the C++ line that made the scenario (GoogleTest reports its failures there).
TEST(Builder, TheScenarioIsWhereTheBuilderWasWritten) {
  const int line = __LINE__ + 1;
  const auto s = ScenarioBuilder("here", "s").rationale("r").read_request().response(200).expect_status(200).build();
  EXPECT_EQ(s.where.file, __FILE__);
  EXPECT_EQ(s.where.line, line);
}
