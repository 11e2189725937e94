// A baseline in every report: the file upfault writes (one scenario per line, sorted, with what it
// was made with) and reads back (old one-line files too; every field checked), and a run held to
// it — known failures skipped in JUnit and marked known in the summary, which leads with the
// changes; only a change fails.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "support.hpp"
#include "upfault/baseline.hpp"
#include "upfault/merge.hpp"
#include "upfault/report.hpp"

namespace upfault {
namespace {

namespace json = boost::json;

ScenarioResult result(const std::string& name, VerdictKind kind, int status = 200) {
  ScenarioResult r;
  r.scenario = std::make_shared<const Scenario>(
      test::scenario(test::with_steps(name, "[[upstream.steps]]\nread = \"head\"\n"), "framing"));
  r.verdict = {kind, kind == VerdictKind::pass ? "502 as expected" : "expected 502, got " + std::to_string(status)};
  r.client = test::complete(status, "hello");
  r.upstream = test::asked();
  return r;
}

// Four scenarios: two that pass, one that fails (200 forwarded), one that fails otherwise (503).
std::vector<ScenarioResult> run_results() {
  return {result("d-passes", VerdictKind::pass, 502), result("a-fails", VerdictKind::fail, 200),
          result("c-passes", VerdictKind::pass, 502), result("b-fails", VerdictKind::fail, 503)};
}

const ProxyInfo kProxy{"nginx", "1.22.1", "http://127.0.0.1:1"};

Baseline recorded(const std::vector<ScenarioResult>& results, bool strict = false) {
  auto text = to_baseline_json(kProxy, results, "0.1.0", strict);
  if (!text) throw std::runtime_error(text.error().message);
  auto b = parse_baseline(*text, "b.json");
  if (!b) throw std::runtime_error(b.error().message);
  return *b;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The file is for review in a diff: one scenario per line, sorted by name, after what it was made
// with; a scenario not run is not recorded (nothing was judged).
TEST(BaselineFile, OneScenarioPerLineSortedWithWhatItWasMadeWith) {
  auto results = run_results();
  results.push_back(result("e-not-run", VerdictKind::not_run));
  auto text = to_baseline_json(kProxy, results, "0.1.0", true);
  ASSERT_TRUE(text) << text.error();
  const auto lines = lines_of(*text);
  const std::vector<std::string> want{
      "{",
      R"(  "schema": "upfault-baseline/1",)",
      R"(  "made_with": {"upfault": "0.1.0", "proxy": "nginx", "proxy_version": "1.22.1", "strict": true},)",
      R"(  "scenarios": {)",
      R"(    "a-fails": "fail: 200 complete",)",
      R"(    "b-fails": "fail: 503 complete",)",
      R"(    "c-passes": "pass",)",
      R"(    "d-passes": "pass")",
      "  }",
      "}"};
  EXPECT_EQ(lines, want) << *text;
  auto b = parse_baseline(*text, "b.json");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->proxy, "nginx 1.22.1");
  EXPECT_EQ(b->upfault, "0.1.0");
  EXPECT_EQ(b->strict, std::optional<bool>(true));
  EXPECT_EQ(b->outcome.size(), 4u);
  EXPECT_EQ(b->outcome.count("e-not-run"), 0u);
}

// A setup error says nothing about the proxy: a baseline that accepted it would hide a broken setup.
TEST(BaselineFile, RunWithSetupErrorsIsNotRecordedAndTheyAreNamed) {
  auto results = run_results();
  results.push_back(result("x-unrouted", VerdictKind::error));
  results.push_back(result("y-unrouted", VerdictKind::error));
  auto text = to_baseline_json(kProxy, results, "0.1.0", false);
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message.find("2 scenarios ended in a setup error"), std::string::npos) << text.error();
  EXPECT_NE(text.error().message.find("x-unrouted, y-unrouted"), std::string::npos) << text.error();
}

// The one-line files older upfaults wrote still read; their "not-run" records nothing.
TEST(BaselineFile, OldOneLineFileReads) {
  auto b = parse_baseline(R"({"schema":"upfault-baseline/1","proxy":"blind 0.1.0","scenarios":)"
                          R"({"a":"pass","b":"fail: 200 complete","c":"not-run","d":"error"}})",
                          "old.json");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->proxy, "blind 0.1.0");
  EXPECT_FALSE(b->strict.has_value());
  EXPECT_EQ(b->outcome.size(), 3u);
  EXPECT_EQ(b->outcome.count("c"), 0u);
  EXPECT_TRUE(baseline_fits(*b, "old.json", true)) << "an older file says nothing of --strict";
}

// made_with is read as untrusted input too: each field of its type, printable, bounded.
TEST(BaselineFile, MadeWithFieldsAreValidated) {
  const auto load = [](const std::string& made_with) {
    return parse_baseline(R"({"schema": "upfault-baseline/1", "made_with": )" + made_with + R"(, "scenarios": {}})",
                          "b.json");
  };
  ASSERT_TRUE(load(R"({"upfault": "0.1.0", "proxy": "nginx", "proxy_version": "1.22.1", "strict": false})"));
  ASSERT_TRUE(load(R"({"later": [1, 2]})")) << "a field a later upfault adds is ignored";
  const std::vector<std::pair<std::string, std::string>> bad{
      {R"("nginx")", "b.json: made_with is not an object"},
      {R"({"strict": "yes"})", "b.json: made_with.strict is not true or false"},
      {R"({"strict": 1})", "made_with.strict is not true or false"},
      {R"({"proxy_version": "\u001b]0;owned\u0007"})", "made_with.proxy_version is not printable text"},
      {R"({"proxy": 7})", "made_with.proxy is not printable text"},
      {R"({"upfault": ")" + std::string(300, 'x') + R"("})", "made_with.upfault is not printable text of at most 200"},
  };
  for (const auto& [made_with, want] : bad) {
    auto b = load(made_with);
    ASSERT_FALSE(b) << made_with;
    EXPECT_NE(b.error().message.find(want), std::string::npos) << b.error().message;
    EXPECT_EQ(b.error().message.find('\x1b'), std::string::npos);
  }
}

// What a team writes into made_with comes back as written: a long or odd proxy version is cut and
// escaped on the way in, so the file always reads back.
TEST(BaselineFile, WhatIsWrittenReadsBack) {
  ProxyInfo odd{"our-nginx", "1.0\x1b[31m\n" + std::string(500, 'v'), "http://127.0.0.1:1"};
  auto text = to_baseline_json(odd, run_results(), "0.1.0", false);
  ASSERT_TRUE(text) << text.error();
  auto b = parse_baseline(*text, "b.json");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->proxy.find('\x1b'), std::string::npos);
}

// A baseline recorded with --strict holds only a run judged with it, and the other way round.
TEST(BaselineFile, StrictMustMatch) {
  const auto strict = recorded(run_results(), true), lenient = recorded(run_results(), false);
  EXPECT_TRUE(baseline_fits(strict, "b.json", true));
  EXPECT_TRUE(baseline_fits(lenient, "b.json", false));
  auto wrong = baseline_fits(strict, "b.json", false);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("b.json was recorded with --strict and this run is judged without it"),
            std::string::npos)
      << wrong.error();
  EXPECT_FALSE(baseline_fits(lenient, "b.json", true));
}

TEST(BaselineStatus, EachOutcomeAgainstEachRecord) {
  EXPECT_EQ(classify("pass", "pass"), BaselineStatus::unchanged_pass);
  EXPECT_EQ(classify("", "pass"), BaselineStatus::new_pass);
  EXPECT_EQ(classify("not-run", "stricter"), BaselineStatus::new_pass) << "an older file's not-run records nothing";
  EXPECT_EQ(classify("fail: 200 complete", "fail: 200 complete"), BaselineStatus::known);
  EXPECT_EQ(classify("fail: 200 complete", "pass"), BaselineStatus::fixed);
  EXPECT_EQ(classify("pass", "fail: 200 complete"), BaselineStatus::new_failure);
  EXPECT_EQ(classify("", "fail: 200 complete"), BaselineStatus::new_failure);
  EXPECT_EQ(classify("fail: 200 complete", "fail: 503 complete"), BaselineStatus::changed);
  EXPECT_EQ(classify("pass", "stricter"), BaselineStatus::changed);
  EXPECT_EQ(classify("error", "error"), BaselineStatus::error) << "an error is never known";
  // Recorded, now not run (its protocol left out): coverage the baseline holds is lost, a change.
  EXPECT_EQ(classify("fail: 200 complete", "not-run"), BaselineStatus::dropped);
  EXPECT_EQ(classify("pass", "not-run"), BaselineStatus::dropped);
  EXPECT_EQ(classify("", "not-run"), BaselineStatus::not_run);
  EXPECT_EQ(classify("not-run", "not-run"), BaselineStatus::not_run) << "an older file's not-run records nothing";
  for (auto s : {BaselineStatus::fixed, BaselineStatus::new_failure, BaselineStatus::changed, BaselineStatus::error,
                 BaselineStatus::dropped}) {
    EXPECT_TRUE(is_change(s)) << to_string(s);
    EXPECT_EQ(baseline_status_named(to_string(s)), s);
  }
  for (auto s :
       {BaselineStatus::unchanged_pass, BaselineStatus::new_pass, BaselineStatus::known, BaselineStatus::not_run})
    EXPECT_FALSE(is_change(s)) << to_string(s);
}

// The run recorded, then held to its own baseline: green in every report.
TEST(BaselineReport, AGreenRunShowsKnownFailuresAsKnown) {
  const auto results = run_results();
  auto report = report_object(kProxy, results, 1.0);
  const auto comparison = apply_baseline(report, recorded(results), "upfault-baseline.json");
  EXPECT_TRUE(comparison.changes.empty());
  EXPECT_EQ(comparison.known_failures, 2);

  const auto& rows = report.at("results").as_array();
  EXPECT_EQ(text_of(rows[1].as_object(), "baseline"), "known");
  EXPECT_EQ(text_of(rows[1].as_object(), "baseline_recorded"), "fail: 200 complete");
  EXPECT_EQ(text_of(rows[0].as_object(), "baseline"), "unchanged-pass");
  const auto& block = report.at("baseline").as_object();
  EXPECT_EQ(block.at("holds"), json::value(true));
  EXPECT_EQ(block.at("counts").as_object().at("known"), json::value(2));

  const auto junit = junit_from_report(report);
  EXPECT_EQ(junit.find("<failure"), std::string::npos) << junit;
  EXPECT_NE(junit.find(R"(<testsuites name="upfault" tests="4" failures="0" errors="0" skipped="2")"),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find(R"(<skipped message="known failure (the baseline records fail: 200 complete): expected 502)"),
            std::string::npos)
      << junit;

  const auto md = summary_from_report(report);
  EXPECT_EQ(md.find("❌"), std::string::npos) << md;
  EXPECT_EQ(md.find("\n### Changes against the baseline\n"), md.find('\n', md.find("## upfault")) + 1)
      << "the changes lead the summary\n"
      << md;
  EXPECT_NE(md.find("**no change**"), std::string::npos) << md;
  EXPECT_NE(md.find("| 🟨 known failure | `framing/a-fails` |"), std::string::npos) << md;
  EXPECT_NE(baseline_console(report).find("2 known failures as recorded, 0 changes"), std::string::npos);
}

// A regression: a scenario that passed fails, one that failed passes. Only those two fail in
// JUnit; the summary names both first, with what the baseline records and what they do now.
TEST(BaselineReport, ARegressionNamesEachChangeInEveryReport) {
  auto base = recorded(run_results());
  auto results = run_results();
  results[2] = result("c-passes", VerdictKind::fail, 200);  // new failure
  results[3] = result("b-fails", VerdictKind::pass, 502);   // fixed
  auto report = report_object(kProxy, results, 1.0);
  const auto comparison = apply_baseline(report, base, "b.json");
  ASSERT_EQ(comparison.changes.size(), 2u);
  EXPECT_EQ(report.at("baseline").as_object().at("holds"), json::value(false));

  const auto junit = junit_from_report(report);
  EXPECT_NE(junit.find(R"(tests="4" failures="2" errors="0" skipped="1")"), std::string::npos) << junit;
  EXPECT_NE(junit.find(R"(<failure message="new failure (the baseline records pass, now fail: 200 complete))"),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find(R"(<failure message="fixed (the baseline records fail: 503 complete, now pass)"),
            std::string::npos)
      << junit;

  const auto md = summary_from_report(report);
  const auto changes = md.find("### Changes against the baseline"), all = md.find("### All results");
  ASSERT_NE(changes, std::string::npos) << md;
  ASSERT_LT(changes, all) << md;
  EXPECT_NE(md.find("**2 changes**"), std::string::npos) << md;
  const auto new_row = md.find("| ❌ new failure | `framing/c-passes` | `pass` | `fail: 200 complete` |");
  const auto fixed_row = md.find("| ✅ fixed | `framing/b-fails` | `fail: 503 complete` | `pass` |");
  EXPECT_LT(new_row, all) << md;
  EXPECT_LT(fixed_row, all) << md;

  const auto console = baseline_console(report);
  EXPECT_NE(console.find("baseline: new failure c-passes: pass → fail: 200 complete\n"), std::string::npos) << console;
  EXPECT_NE(console.find("baseline: fixed b-fails: fail: 503 complete → pass\n"), std::string::npos) << console;
}

// A scenario the baseline records that this run did not ask (its upstream protocol left out of
// the proxy's, say by a CI line without --upstream-protocols https): the run tests less than the
// baseline holds, so it is red, and every report names the scenario as dropped.
TEST(BaselineReport, AScenarioRecordedButNotRunIsDropped) {
  auto base = recorded(run_results());
  auto results = run_results();
  results[1].verdict = {VerdictKind::not_run,
                        "not run: needs upstream protocol https, which the proxy is not set up "
                        "to speak"};
  auto report = report_object(kProxy, results, 1.0);
  const auto comparison = apply_baseline(report, base, "b.json");
  ASSERT_EQ(comparison.changes.size(), 1u);
  EXPECT_EQ(comparison.changes[0].status, BaselineStatus::dropped);
  EXPECT_EQ(report.at("baseline").as_object().at("holds"), json::value(false));
  EXPECT_EQ(text_of(report.at("results").as_array()[1].as_object(), "baseline"), "dropped");

  const auto junit = junit_from_report(report);
  EXPECT_NE(junit.find(R"(<failure message="dropped (the baseline records fail: 200 complete, but it was not run)"),
            std::string::npos)
      << junit;
  const auto md = summary_from_report(report);
  EXPECT_NE(md.find("| 🚫 dropped (not run) | `framing/a-fails` | `fail: 200 complete` | `not-run` |"),
            std::string::npos)
      << md;
  EXPECT_NE(baseline_console(report).find("baseline: dropped a-fails: fail: 200 complete → not-run\n"),
            std::string::npos)
      << baseline_console(report);
}

// A shard's own comparison covers its shard only: merge drops it, and the merged report's files
// show plain verdicts unless merge itself is given the baseline.
TEST(BaselineReport, MergeDropsAShardsOwnComparison) {
  const auto results = run_results();
  SuitePosition position;
  std::vector<Scenario> whole;
  for (const auto& r : results) whole.push_back(*r.scenario);
  position = suite_position(whole);
  position.selected = results.size();
  auto report = report_object(kProxy, results, 1.0, &position);
  (void)apply_baseline(report, recorded(results), "b.json");
  auto merged = merge_run_reports({{"shard.json", json::serialize(report)}});
  ASSERT_TRUE(merged) << merged.error();
  EXPECT_FALSE(merged->contains("baseline"));
  for (const auto& row : merged->at("results").as_array()) {
    EXPECT_FALSE(row.as_object().contains("baseline"));
    EXPECT_FALSE(row.as_object().contains("baseline_recorded"));
  }
  EXPECT_NE(junit_from_report(*merged).find(R"(failures="2")"), std::string::npos);
  (void)apply_baseline(*merged, recorded(results), "b.json");
  EXPECT_NE(junit_from_report(*merged).find(R"(failures="0" errors="0" skipped="2")"), std::string::npos);
}

}  // namespace
}  // namespace upfault
