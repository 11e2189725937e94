// --repeat keeps every outcome: a scenario whose outcome varied shows its distribution on the
// console, in the JSON report, the JUnit file, the Markdown summary, the matrix page and its
// results files (read back as untrusted input). Stability is measured, never written down.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <boost/json.hpp>
#include <functional>

#include "support.hpp"
#include "upfault/matrix.hpp"
#include "upfault/repeat.hpp"
#include "upfault/report.hpp"

using namespace upfault;

namespace {

namespace json = boost::json;

const std::string kSteps = "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\nresponse = { status = 503 }\n";

// Two scenarios: "flaky" (the proxy answers it differently from run to run) and "steady".
std::vector<Scenario> suite() {
  return {test::scenario(test::with_steps("flaky", kSteps, "[expect]\npassthrough = true\n")),
          test::scenario(test::with_steps("steady", kSteps, "[expect]\npassthrough = true\n"))};
}

ScenarioResult result(const Scenario& s, VerdictKind v, std::string reason, int status = 503) {
  ScenarioResult r;
  r.scenario = std::make_shared<const Scenario>(s);
  r.verdict = {v, std::move(reason)};
  r.client = test::complete(status, "down");
  r.upstream = test::asked();
  return r;
}

// Three runs: "flaky" passes, fails (the proxy's own 502), passes; "steady" passes each time, in
// a time of its own each time.
RepeatedRuns three_runs(const std::vector<Scenario>& all) {
  RepeatedRuns runs;
  runs.add({result(all[0], VerdictKind::pass, "503 after 3 ms (body 4 bytes: \"down\")"),
            result(all[1], VerdictKind::pass, "503 after 2 ms (body 4 bytes: \"down\") [0.00 × read_timeout]")});
  runs.add({result(all[0], VerdictKind::fail, "expected passthrough, got 502 after 4 ms", 502),
            result(all[1], VerdictKind::pass, "503 after 1.25 s (body 4 bytes: \"down\") [1.25 × read_timeout]")});
  runs.add({result(all[0], VerdictKind::pass, "503 after 5 ms (body 4 bytes: \"down\")"),
            result(all[1], VerdictKind::pass, "503 after 7 ms (body 4 bytes: \"down\") [0.01 × read_timeout]")});
  return runs;
}

}  // namespace

// Every run's outcome is kept: the scenario that varied shows each verdict with its count (not the
// last run's verdict alone), and its evidence is that of its worst run; reasons that differ only in
// how long the run took are one outcome.
TEST(RepeatedRuns, KeepsEveryOutcomeAndShowsTheWorstRun) {
  const auto all = suite();
  const auto results = three_runs(all).results();
  ASSERT_EQ(results.size(), 2u);
  const auto& flaky = results[0];
  EXPECT_EQ(flaky.verdict.kind, VerdictKind::fail) << "a fail in any run is the verdict shown";
  EXPECT_EQ(flaky.client.response->status, 502) << "the evidence of the failed run";
  ASSERT_EQ(flaky.runs.size(), 2u);
  EXPECT_EQ(flaky.runs[0].verdict, VerdictKind::pass);
  EXPECT_EQ(flaky.runs[0].count, 2u);
  EXPECT_EQ(flaky.runs[0].reason, "503 after 3 ms (body 4 bytes: \"down\")") << "the first run's reason";
  EXPECT_EQ(flaky.runs[1].verdict, VerdictKind::fail);
  EXPECT_EQ(flaky.runs[1].count, 1u);
  EXPECT_TRUE(flaky.unstable());
  EXPECT_EQ(distribution_text(flaky.runs), "pass 2/3, fail 1/3");
  EXPECT_TRUE(results[1].runs.empty()) << "3 ms, 1.25 s and 7 ms are one outcome: " << results[1].runs.size();
  EXPECT_FALSE(results[1].unstable());
}

// The same verdict for different reasons is an outcome that varied, but not a changed verdict.
TEST(RepeatedRuns, SameVerdictForDifferentReasonsIsNotUnstable) {
  const auto all = suite();
  RepeatedRuns runs;
  runs.add({result(all[0], VerdictKind::fail, "expected passthrough, got 502 after 3 ms", 502)});
  runs.add({result(all[0], VerdictKind::fail, "expected passthrough, got no response after 3 ms")});
  const auto r = runs.results().at(0);
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_FALSE(r.unstable());
  EXPECT_EQ(distribution_text(r.runs), "fail 2/2");
}

// Among failed runs, one where the proxy passed a response on is shown before one where it answered
// with an error of its own: the matrix ranks the cell by what that run risks (here a desync, not a
// wrong error), so a cell that desyncs one time in three counts as a desync.
TEST(RepeatedRuns, AFailureThatPassedSomethingOnIsTheOneShown) {
  const auto all = suite();
  RepeatedRuns runs;
  auto none = result(all[0], VerdictKind::fail, "expected passthrough, got no response after 3 ms");
  none.client = test::ended(Ending::closed_early);
  runs.add({none});
  runs.add({result(all[0], VerdictKind::fail, "expected passthrough, got 200 after 3 ms", 200)});
  runs.add({none});
  const auto r = runs.results().at(0);
  ASSERT_TRUE(r.client.response);
  EXPECT_EQ(r.client.response->status, 200);
  EXPECT_EQ(r.runs.front().count, 2u) << "the outcomes are counted all the same";
}

// An error says nothing about the proxy: it is the verdict shown only where no run was judged.
TEST(RepeatedRuns, AnErrorShowsOnlyWhereNoRunWasJudged) {
  const auto all = suite();
  RepeatedRuns runs;
  runs.add({result(all[0], VerdictKind::error, "could not reach the proxy"), result(all[1], VerdictKind::error, "x")});
  runs.add({result(all[0], VerdictKind::pass, "503 after 3 ms"), result(all[1], VerdictKind::error, "x")});
  const auto results = runs.results();
  EXPECT_EQ(results[0].verdict.kind, VerdictKind::pass);
  EXPECT_TRUE(results[0].unstable()) << "still a changed verdict";
  EXPECT_EQ(results[1].verdict.kind, VerdictKind::error);
}

// A thousand runs with a thousand reasons keep a bounded list, and every run is still counted.
TEST(RepeatedRuns, OutcomesAreBoundedAndEveryRunCounted) {
  const auto all = suite();
  RepeatedRuns runs;
  for (int i = 0; i < 1000; ++i)
    runs.add({result(all[0], i % 2 ? VerdictKind::fail : VerdictKind::pass, fmt::format("got {} body bytes", i))});
  const auto r = runs.results().at(0);
  EXPECT_LE(r.runs.size(), kMaxRunOutcomes);
  unsigned total = 0;
  for (const auto& o : r.runs) total += o.count;
  EXPECT_EQ(total, 1000u);
  EXPECT_EQ(distribution_text(r.runs), "fail 500/1000, pass 500/1000") << "equal shares: the worst first";
  EXPECT_EQ(runs.runs(), 1000u);
}

// The JSON report keeps each outcome; JUnit fails the scenario with the distribution as its
// message (as the run's exit status fails it); the summary and the console show it too.
TEST(RepeatedRuns, EveryReportShowsTheDistribution) {
  const auto all = suite();
  const auto results = three_runs(all).results();
  SuitePosition position = suite_position(all);
  position.repeat = position.repeat_completed = 3;
  const auto report = report_object({"nginx", "1.22.1", "http://127.0.0.1:1"}, results, 1.0, &position);
  const auto& row = report.at("results").as_array()[0].as_object();
  EXPECT_EQ(json::serialize(row.at("runs")),
            R"x([{"verdict":"pass","reason":"503 after 3 ms (body 4 bytes: \"down\")","count":2},)x"
            R"x({"verdict":"fail","reason":"expected passthrough, got 502 after 4 ms","count":1}])x");
  EXPECT_EQ(row.at("unstable"), json::value(true));
  EXPECT_EQ(row.at("verdict"), json::value("fail"));
  EXPECT_FALSE(report.at("results").as_array()[1].as_object().contains("runs")) << "a steady scenario lists none";
  EXPECT_EQ(report.at("summary").as_object().at("unstable"), json::value(1));
  EXPECT_EQ(json::serialize(report.at("repeat")), R"({"runs":3,"completed":3})");

  const auto junit = junit_from_report(report);
  EXPECT_NE(junit.find("<failure message=\"varied: pass 2/3, fail 1/3 (pass 2/3: 503 after 3 ms (body 4 bytes: "
                       "&quot;down&quot;); fail 1/3: expected passthrough, got 502 after 4 ms)\""),
            std::string::npos)
      << junit;
  const auto summary = summary_from_report(report);
  EXPECT_NE(summary.find("| 🎲 unstable | `test/flaky` | must | varied: pass 2/3, fail 1/3 (pass 2/3:"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("(1 unstable: the verdict changed from run to run"), std::string::npos) << summary;
  EXPECT_NE(summary.find("over 3 runs"), std::string::npos) << summary;

  const auto line = format_result(results[0], false, false);
  EXPECT_EQ(line.rfind("UNSTABLE test/flaky [must]", 0), 0u) << line;
  EXPECT_NE(line.find("varied over 3 runs: pass 2/3, fail 1/3 (counted as fail, its worst)"), std::string::npos)
      << line;
  EXPECT_NE(line.find("\n         fail 1/3: expected passthrough, got 502 after 4 ms\n"), std::string::npos) << line;
  Tally t;
  for (const auto& r : results) t.add(r);
  EXPECT_NE(t.line().find("1 unstable"), std::string::npos) << t.line();
}

// A changed verdict whose worst run passed is a JUnit failure all the same: the run exits 1 for it.
TEST(RepeatedRuns, AChangedVerdictFailsInJUnitWhateverItsWorst) {
  const auto all = suite();
  RepeatedRuns runs;
  runs.add({result(all[0], VerdictKind::error, "could not reach the proxy")});
  runs.add({result(all[0], VerdictKind::pass, "503 after 3 ms")});
  const auto report = report_object({"nginx", "", ""}, runs.results(), 1.0);
  const auto junit = junit_from_report(report);
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"varied: pass 1/2, error 1/2"), std::string::npos) << junit;
  EXPECT_NE(summary_from_report(report).find("🎲 unstable"), std::string::npos);
}

namespace {

// A results file as `upfault matrix --repeat 3` writes it: "flaky" varied, "steady" did not.
std::string repeated_results_file(const std::vector<Scenario>& all) {
  RunRecord record;
  record.profile = "nginx";
  record.repeat = record.repeat_completed = 3;
  return to_json({"nginx", "1.22.1", "http://127.0.0.1:1"}, three_runs(all).results(), 1.0, record);
}

std::string refusal(const std::string& text, const std::vector<Scenario>& all) {
  auto r = parse_results(text, all, "results/nginx.json");
  return r ? "" : r.error().message;
}

// The results file with one change made to its parsed JSON.
std::string edited(const std::string& text, const std::function<void(json::object&)>& edit) {
  auto root = json::parse(text).as_object();
  edit(root);
  return json::serialize(root);
}

json::object& flaky_row(json::object& root) { return root["results"].as_array()[0].as_object(); }

}  // namespace

// A matrix cell keeps its outcomes through its results file: `matrix --from` reads them back.
TEST(RepeatedMatrix, ResultsFileKeepsEachOutcome) {
  const auto all = suite();
  auto column = parse_results(repeated_results_file(all), all, "results/nginx.json");
  ASSERT_TRUE(column) << column.error();
  EXPECT_EQ(column->repeat, 3u);
  EXPECT_EQ(column->repeat_completed, 3u);
  const auto& flaky = column->cells[0];
  EXPECT_EQ(flaky.verdict, VerdictKind::fail);
  ASSERT_EQ(flaky.runs.size(), 2u);
  EXPECT_EQ(flaky.runs[1].reason, "expected passthrough, got 502 after 4 ms");
  EXPECT_TRUE(flaky.unstable());
  EXPECT_EQ(flaky.share(), (std::pair{1u, 3u}));
  EXPECT_TRUE(column->cells[1].runs.empty());
}

// A cell that varied shows its worst verdict with how many runs gave it, and each outcome, on both
// pages; it counts as its worst in the ranking; the proxy's note says how many runs and how many varied.
TEST(RepeatedMatrix, AVariedCellShowsItsDistribution) {
  const auto all = suite();
  auto column = parse_results(repeated_results_file(all), all, "results/nginx.json");
  ASSERT_TRUE(column) << column.error();
  const auto md = matrix_markdown(all, {*column}, "2026-01-01");
  EXPECT_NE(md.find("| flaky | must | — | ❌ 1/3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| steady | must | — | ✅ |"), std::string::npos) << md;
  EXPECT_NE(md.find("— varied over 3 runs: pass 2/3, fail 1/3: pass 2/3: 503 after 3 ms (body 4 bytes: \"down\"); "
                    "fail 1/3: as above\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("3 runs, 1 unstable (each counted as its worst)"), std::string::npos) << md;
  const auto html = matrix_html(all, {*column}, "2026-01-01");
  EXPECT_NE(html.find("<td class=\"v fail varied right\"><details><summary>fail 1/3</summary>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<b>varied over 3 runs: pass 2/3, fail 1/3:</b><ul><li>pass 2/3: 503 after 3 ms"),
            std::string::npos)
      << html;
  const auto ranked = rank({*column});
  EXPECT_EQ(ranked[0].failure_count(), 1u) << "a cell that failed in one run of three counts as a failure";
  EXPECT_EQ(ranked[0].unstable, (std::vector<std::size_t>{0}));
}

// Every field of a repeated results file is checked before use: the file and the field are named,
// never an abort.
TEST(RepeatedMatrix, RepeatedFieldsAreValidatedWhenReadBack) {
  const auto all = suite();
  const auto file = repeated_results_file(all);
  ASSERT_EQ(refusal(file, all), "");
  auto runs = [](json::object& r) -> json::array& { return flaky_row(r)["runs"].as_array(); };
  const std::vector<std::pair<std::function<void(json::object&)>, std::string>> cases = {
      {[&](auto& r) { runs(r)[0].as_object()["count"] = "2"; },
       "results/nginx.json: scenario \"flaky\": runs[0].count is not a count"},
      {[&](auto& r) { runs(r)[0].as_object()["count"] = 1.5; }, "runs[0].count is not a count"},
      {[&](auto& r) { runs(r)[0].as_object()["count"] = -1; }, "runs[0].count is not a count"},
      {[&](auto& r) { runs(r)[0].as_object()["count"] = 0; }, "runs[0].count is 0: an outcome no run gave"},
      {[&](auto& r) { runs(r)[0].as_object()["count"] = 4; }, "runs[0].count is 4, over the 3 it can be"},
      {[&](auto& r) { runs(r)[1].as_object()["count"] = 2; }, "its runs add up to 4, more than the 3 runs"},
      {[&](auto& r) { runs(r)[0].as_object()["verdict"] = "flaky"; },
       "runs[0].verdict is not pass, stricter, fail, error or not-run"},
      {[&](auto& r) { runs(r)[0].as_object()["reason"] = 5; }, "runs[0].reason is not a string"},
      {[&](auto& r) { runs(r)[1].as_object().erase("count"); }, "runs[1].count is missing"},
      {[&](auto& r) { runs(r)[1] = 7; }, "scenario \"flaky\": runs[1] is not an object"},
      {[&](auto& r) { flaky_row(r)["runs"] = "pass 2/3"; }, "\"runs\" must be an array of 1 to 21 outcomes"},
      {[&](auto& r) { flaky_row(r)["runs"] = json::array(); }, "\"runs\" must be an array of 1 to 21 outcomes"},
      {[&](auto& r) { flaky_row(r)["unstable"] = "yes"; }, "\"unstable\" must be true or false"},
      {[&](auto& r) { flaky_row(r)["verdict"] = "stricter"; }, "verdict stricter is none of its runs' verdicts"},
      {[&](auto& r) { r.erase("repeat"); }, "scenario \"flaky\": \"runs\" in a file without \"repeat\""},
      {[&](auto& r) { r["repeat"] = 3; }, "results/nginx.json: \"repeat\" must be an object"},
      {[&](auto& r) { r["repeat"].as_object()["runs"] = 5000; }, "results/nginx.json: repeat.runs is 5000, over the"},
      {[&](auto& r) {
         r["repeat"] = json::object{{"runs", 1}, {"completed", 1}};
       },
       "repeat.runs is below 2"},
      {[&](auto& r) { r["repeat"].as_object()["completed"] = 4; }, "repeat.completed is 4, over the 3 it can be"},
      {[&](auto& r) { r["repeat"].as_object()["completed"] = 1e300; }, "repeat.completed is not a count"},
  };
  for (const auto& [edit, want] : cases) {
    std::string got;
    ASSERT_NO_THROW(got = refusal(edited(file, edit), all)) << want;
    EXPECT_NE(got.find(want), std::string::npos) << "want: " << want << "\ngot:  " << got;
  }
}
