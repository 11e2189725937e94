// The conformance page's logic: the risk class a failure counts in, the ranking, configurable
// defaults, and results files read back (and refused when they are of another scenario set).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "support.hpp"
#include "upfault/matrix.hpp"
#include "upfault/report.hpp"

using namespace upfault;
namespace fs = std::filesystem;

namespace {

const std::string kSteps = "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\nresponse = { status = 200 }\n";

Scenario scenario(const std::string& name, const std::string& risk, const std::string& expect) {
  return test::scenario("name = \"" + name + "\"\nsummary = \"s\"\nrfc = \"RFC 9110\"\nlevel = \"must\"\nrisk = \"" +
                        risk + "\"\n" + kSteps + expect);
}

// A suite with a scenario of each class: the upstream's response broken (502 owed), valid (to
// forward), and absent (a timeout: 504 owed).
std::vector<Scenario> suite() {
  return {scenario("broken", "desync", "[expect]\nstatus = 502\n"),
          scenario("valid", "lost-information", "[expect]\npassthrough = true\n"),
          scenario("silent", "wrong-error", "[expect]\nstatus = 504\n")};
}

MatrixCell cell(const Scenario& s, VerdictKind v, std::optional<int> status, std::string ended = "complete") {
  MatrixCell c;
  c.scenario = &s;
  c.verdict = v;
  c.status = status;
  c.ended = std::move(ended);
  c.upstream_requests = 1;
  return c;
}

// A column whose cells pass, except the failures given as (scenario index, status, ending).
ProxyColumn column(const std::string& name, const std::vector<Scenario>& all,
                   const std::vector<std::tuple<std::size_t, std::optional<int>, std::string>>& failures) {
  ProxyColumn c;
  c.proxy.name = name;
  for (const auto& s : all) c.cells.push_back(cell(s, VerdictKind::pass, 200));
  for (const auto& [k, status, ended] : failures) c.cells[k] = cell(all[k], VerdictKind::fail, status, ended);
  return c;
}

std::vector<std::string> order(const std::vector<ProxyColumn>& columns) {
  std::vector<std::string> out;
  for (const auto& s : rank(columns)) out.push_back(columns[s.column].proxy.name);
  return out;
}

}  // namespace

// A failure counts in its scenario's class where the proxy passed something on; where it answered
// with an error of its own, it passed nothing broken on: a wrong error when an error was owed,
// lost information when the upstream's response was valid.
TEST(Matrix, FailureCountsByWhatTheProxyDid) {
  const auto all = suite();
  const auto& broken = all[0];
  const auto& valid = all[1];
  EXPECT_EQ(failure_risk(cell(broken, VerdictKind::fail, 200)), Risk::desync) << "invalid framing forwarded as 200";
  EXPECT_EQ(failure_risk(cell(broken, VerdictKind::fail, std::nullopt, "invalid")), Risk::desync);
  EXPECT_EQ(failure_risk(cell(broken, VerdictKind::fail, 503)), Risk::wrong_error) << "503 instead of 502";
  EXPECT_EQ(failure_risk(cell(broken, VerdictKind::fail, std::nullopt, "closed-early")), Risk::wrong_error);
  EXPECT_EQ(failure_risk(cell(broken, VerdictKind::fail, 200, "timed-out")), Risk::wrong_error);
  EXPECT_EQ(failure_risk(cell(valid, VerdictKind::fail, 503)), Risk::lost_information) << "a valid response lost";
  EXPECT_EQ(failure_risk(cell(valid, VerdictKind::fail, 200)), Risk::lost_information);
  EXPECT_EQ(failure_risk(cell(all[2], VerdictKind::fail, 502)), Risk::wrong_error);
  auto crashed = cell(broken, VerdictKind::fail, std::nullopt, "reset");
  crashed.crash = "exited with status 1";
  EXPECT_EQ(failure_risk(crashed), Risk::desync) << "a crash keeps its scenario's class";
  auto replayed = cell(broken, VerdictKind::fail, 502);
  replayed.upstream_requests = 2;
  EXPECT_EQ(failure_risk(replayed), Risk::desync) << "a request sent twice keeps its scenario's class";
  EXPECT_TRUE(accepts_error(broken));
  EXPECT_FALSE(accepts_error(valid));
  // Repeated requests: the last answered well, an earlier one with the proxy's 503 where a 502 was
  // owed (earlier_status = [204, 502]): a wrong error, not the scenario's desync.
  const auto repeated = test::scenario(
      "name = \"repeated\"\nsummary = \"s\"\nrfc = \"r\"\nlevel = \"must\"\nrisk = \"desync\"\n[request]\nrepeat = "
      "2\nconnection = \"keep-alive\"\n" +
      kSteps + "[expect]\nearlier_status = [204, 502]\npassthrough = true\n");
  EXPECT_TRUE(accepts_error(repeated));
  auto earlier = cell(repeated, VerdictKind::fail, 200);
  EXPECT_EQ(failure_risk(earlier), Risk::desync);
  earlier.earlier_error = true;
  EXPECT_EQ(failure_risk(earlier), Risk::wrong_error);
  const auto unnamed = test::scenario(test::with_steps("unnamed", kSteps, "[expect]\nstatus = 502\n"));
  EXPECT_EQ(failure_risk(cell(unnamed, VerdictKind::fail, 200)), std::nullopt);
  EXPECT_EQ(risk_index(std::nullopt), 3u);
}

// The most severe class decides first: one desync failure ranks below any number of wrong errors;
// equal there, the next class decides; a proxy that did not run comes last.
TEST(Matrix, RankingPutsTheMostSevereClassFirst) {
  const auto all = suite();
  std::vector<ProxyColumn> columns = {
      column("a-one-desync", all, {{0, 200, "complete"}}),
      column("b-wrong-errors", all, {{0, 503, "complete"}, {2, 502, "complete"}}),
      column("c-lost", all, {{1, 503, "complete"}}),
      column("d-clean", all, {}),
      column("e-lost-and-wrong", all, {{1, 200, "complete"}, {2, 502, "complete"}}),
  };
  ProxyColumn absent;
  absent.proxy.name = "0-not-installed";
  absent.skipped = "not installed";
  columns.push_back(absent);
  EXPECT_EQ(order(columns), (std::vector<std::string>{"d-clean", "b-wrong-errors", "c-lost", "e-lost-and-wrong",
                                                      "a-one-desync", "0-not-installed"}));
  const auto ranked = rank(columns);
  EXPECT_EQ(ranked[1].failures[2].size(), 2u) << "b's 503 for a broken response counts as a wrong error";
  EXPECT_EQ(ranked[1].passed, 1);
  EXPECT_EQ(ranked[4].failures[0], (std::vector<std::size_t>{0}));
  EXPECT_FALSE(ranked[5].ran);
}

// A failure the profile documents as a configurable default is shown apart and does not count; a
// documented deviation (not configurable) still counts; neither excuses a valid response lost.
TEST(Matrix, ConfigurableDefaultsDoNotCount) {
  const auto all = suite();
  auto quirk = [](bool configurable) {
    Quirk q;
    q.scenarios = {"broken", "silent", "valid"};
    q.status = 503;
    q.summary = "503 for every failed fetch";
    q.link = "https://example.org/docs";
    q.quote = "we answer 503";
    q.configurable = configurable;
    if (configurable) q.setting = "error_status 502";
    return q;
  };
  auto defaults = column("defaults", all, {{0, 503, "complete"}, {2, 503, "complete"}});
  defaults.notes.quirks = {quirk(true)};
  auto documented = column("documented", all, {{0, 503, "complete"}, {2, 503, "complete"}});
  documented.notes.quirks = {quirk(false)};
  EXPECT_EQ(cell_kind(defaults, defaults.cells[0]), CellKind::configured);
  EXPECT_EQ(cell_kind(documented, documented.cells[0]), CellKind::known);
  const auto lost = cell(all[1], VerdictKind::fail, 503);
  EXPECT_EQ(cell_kind(defaults, lost), CellKind::fail) << "a valid response replaced is never excused";
  const auto ranked = rank({documented, defaults});
  EXPECT_EQ(ranked[0].column, 1u) << "defaults' two 503s do not count; documented's do";
  EXPECT_EQ(ranked[0].configured.size(), 2u);
  EXPECT_EQ(ranked[0].failure_count(), 0u);
  EXPECT_EQ(ranked[1].failures[2].size(), 2u);
  const auto page = matrix_markdown(all, {documented, defaults}, "2026-01-01");
  EXPECT_NE(page.find("| 1 | defaults | 0 | 0 | 0 | 0 | 2 (error_status 502) | 1/3 (33%) | 1/3 |"), std::string::npos)
      << page;
  EXPECT_NE(page.find("| 2 | documented | 0 | 0 | 0 | 2 | — | 1/3 (33%) | 1/3 |"), std::string::npos) << page;
}

// "passed" counts out of the scenarios the proxy ran: a protocol its profile lacks is not a miss.
TEST(Matrix, NotRunIsOutOfThePassedCount) {
  const auto all = suite();
  auto c = column("plain", all, {});
  c.cells[2] = cell(all[2], VerdictKind::not_run, std::nullopt, "");
  const auto ranked = rank({c});
  EXPECT_EQ(ranked[0].not_run, 1);
  EXPECT_EQ(ranked[0].ran_count(c), 2u);
  const auto md = matrix_markdown(all, {c}, "2026-01-01");
  EXPECT_NE(md.find("| 1 | plain | 0 | 0 | 0 | 0 | — | 2/2 (100%) | 2/2 | 1 not run (an upstream protocol it lacks) |"),
            std::string::npos)
      << md;
  const auto html = matrix_html(all, {c}, "2026-01-01");
  EXPECT_NE(html.find("data-label=\"passed of ran\">2/2</td>"), std::string::npos) << html;
}

// Only what every proxy ran ranks: a failure where another proxy did not run (a protocol its profile
// lacks) is shown, not counted, since that proxy had no chance to fail it.
TEST(Matrix, RanksOnlyWhatEveryProxyRan) {
  const auto all = suite();
  auto tls = column("a-speaks-tls", all, {{2, 502, "complete"}});
  auto plain = column("b-plain", all, {});
  plain.cells[2] = cell(all[2], VerdictKind::not_run, std::nullopt, "");
  EXPECT_EQ(order({plain, tls}), (std::vector<std::string>{"a-speaks-tls", "b-plain"})) << "a tie, by name";
  const auto ranked = rank({plain, tls});
  EXPECT_EQ(ranked[0].unranked.size(), 1u);
  EXPECT_EQ(ranked[0].failure_count(), 0u);
  const auto md = matrix_markdown(all, {plain, tls}, "2026-01-01");
  EXPECT_NE(md.find("1 failure(s) where not every proxy ran (not ranked)"), std::string::npos) << md;
  EXPECT_NE(md.find("- **silent** (must)"), std::string::npos) << "still listed\n" << md;
  // Where both ran it, it ranks again.
  auto both = column("b-plain", all, {});
  EXPECT_EQ(order({both, tls}), (std::vector<std::string>{"b-plain", "a-speaks-tls"}));
}

namespace {

std::vector<ScenarioResult> results_of(const std::vector<Scenario>& all) {
  std::vector<ScenarioResult> out;
  for (const auto& s : all) {
    ScenarioResult r;
    r.scenario = std::make_shared<const Scenario>(s);
    r.verdict = {VerdictKind::pass, "ok"};
    r.client = test::complete(200, "ok");
    r.upstream = test::asked();
    out.push_back(std::move(r));
  }
  return out;
}

std::string results_json(const std::vector<Scenario>& all, std::vector<ScenarioResult> results) {
  RunRecord record;
  record.profile = "nginx";
  record.config = {"nginx.conf.in"};
  record.date = "2026-01-02";
  return to_json({"nginx", "1.22.1", "http://127.0.0.1:1"}, results.empty() ? results_of(all) : results, 1.5, record);
}

std::string refusal(const std::string& json, const std::vector<Scenario>& all) {
  auto r = parse_results(json, all, "results/x.json");
  return r ? "" : r.error().message;
}

}  // namespace

// What a matrix run writes, read back: the proxy, its profile, the day, every cell.
TEST(Matrix, ResultsFileReadsBack) {
  const auto all = suite();
  auto results = results_of(all);
  results[0].verdict = {VerdictKind::fail, "expected 502, got 200"};
  results[0].proxy_crash = "killed by signal 6";
  results[2].client = test::ended(Ending::timed_out);
  auto first = test::complete(503);
  first.request = 1;
  results[1].client.earlier.push_back(first);
  auto column = parse_results(results_json(all, results), all, "results/nginx.json");
  ASSERT_TRUE(column) << column.error();
  EXPECT_EQ(column->proxy.version, "1.22.1");
  EXPECT_EQ(column->profile, "nginx");
  EXPECT_EQ(column->config, (std::vector<std::string>{"nginx.conf.in"}));
  EXPECT_EQ(column->date, "2026-01-02");
  EXPECT_DOUBLE_EQ(column->wall_seconds, 1.5);
  ASSERT_EQ(column->cells.size(), 3u);
  EXPECT_EQ(column->cells[0].scenario, &all[0]);
  EXPECT_EQ(column->cells[0].verdict, VerdictKind::fail);
  EXPECT_EQ(column->cells[0].status, 200);
  EXPECT_EQ(column->cells[0].crash, "killed by signal 6");
  EXPECT_EQ(column->cells[0].upstream_requests, 1);
  EXPECT_EQ(column->cells[2].status, std::nullopt);
  EXPECT_EQ(column->cells[2].ended, "timed-out");
  EXPECT_FALSE(column->cells[0].earlier_error);
  EXPECT_TRUE(column->cells[1].earlier_error) << "an earlier request answered with the proxy's 503";
}

// A results file of another scenario set is refused, naming the scenario that differs; so is one
// of another schema, or with a field of the wrong type.
TEST(Matrix, ResultsOfAnotherSuiteAreRefused) {
  const auto all = suite();
  const auto json = results_json(all, {});
  ASSERT_EQ(refusal(json, all), "");
  auto more = all;
  more.push_back(scenario("added-since", "desync", "[expect]\nstatus = 502\n"));
  EXPECT_NE(refusal(json, more).find("results of a different scenario set: missing from the file: \"added-since\""),
            std::string::npos)
      << refusal(json, more);
  const std::vector<Scenario> fewer(all.begin(), all.begin() + 2);
  EXPECT_NE(refusal(json, fewer).find("not in the suite: \"silent\""), std::string::npos) << refusal(json, fewer);
  auto edit = [&](auto change) {
    auto root = boost::json::parse(json).as_object();
    change(root);
    return boost::json::serialize(root);
  };
  auto results = [](boost::json::object& r) -> boost::json::array& { return r["results"].as_array(); };
  EXPECT_NE(refusal(edit([&](auto& r) {
                      auto first = results(r)[0];
                      results(r).push_back(first);
                    }),
                    all)
                .find("\"broken\" has two"),
            std::string::npos);
  EXPECT_NE(refusal(edit([](auto& r) { r["schema"] = "upfault-run/2"; }), all).find("its schema is \"upfault-run/2\""),
            std::string::npos);
  EXPECT_NE(refusal("{\"results\": []}", all).find("not a results file of schema upfault-run/1"), std::string::npos);
  EXPECT_NE(refusal("[1, 2", all).find("results/x.json: not a results file"), std::string::npos);
  EXPECT_NE(refusal(std::string(100, '[') + std::string(100, ']'), all).find("not a results file"), std::string::npos);
  EXPECT_NE(refusal(edit([&](auto& r) { results(r)[0].as_object()["status"] = "200"; }), all)
                .find("scenario \"broken\": \"status\" must be an integer from 0 to 999"),
            std::string::npos);
  EXPECT_NE(refusal(edit([&](auto& r) { results(r)[1].as_object()["verdict"] = "great"; }), all)
                .find("\"verdict\" must be pass, stricter, fail, error or not-run, not \"great\""),
            std::string::npos);
  EXPECT_NE(refusal(edit([&](auto& r) { results(r)[1].as_object()["level"] = "may"; }), all)
                .find("level may here, must in the suite"),
            std::string::npos);
  EXPECT_NE(
      refusal(edit([](auto& r) { r["proxy"].as_object()["config"] = boost::json::array{"../../etc/passwd"}; }), all)
          .find("paths inside the profile's directory"),
      std::string::npos);
  EXPECT_NE(
      refusal(edit([](auto& r) { r["proxy"].as_object()["profile"] = "a b\"<"; }), all).find("not a profile name"),
      std::string::npos);
  EXPECT_NE(refusal(edit([](auto& r) { r["results"] = 5; }), all).find("\"results\" must be an array"),
            std::string::npos);
}

// load_results reads only a regular file of bounded size.
TEST(Matrix, ResultsFileIsReadBounded) {
  const auto all = suite();
  auto dir = fs::temp_directory_path() / ("upfault-matrix-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "nginx.json") << results_json(all, {}); }
  EXPECT_TRUE(load_results(dir / "nginx.json", all));
  auto missing = load_results(dir / "absent.json", all);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent.json"), std::string::npos);
  EXPECT_FALSE(load_results(dir, all)) << "a directory is not a results file";
  fs::remove_all(dir);
}

// The corpus's classes agree with what each scenario expects: a scenario owed the upstream's valid
// response (no error accepted) cannot fail with a mere wrong error, one the upstream answers with
// nothing to pass on (an endpoint) can fail with nothing else, and a passthrough scenario loses
// information when it fails.
TEST(Matrix, CorpusRisksAgreeWithExpectations) {
  const auto corpus = load_scenarios({UPFAULT_SCENARIOS_DIR});
  ASSERT_TRUE(corpus.errors.empty());
  for (const auto& s : corpus.scenarios) {
    ASSERT_TRUE(s.risk) << s.name;
    if (!accepts_error(s)) {
      EXPECT_NE(*s.risk, Risk::wrong_error) << s.name << " is owed a valid response";
    }
    if (!runs_steps(s.endpoint)) {
      EXPECT_EQ(*s.risk, Risk::wrong_error) << s.name << " has nothing to pass on";
    }
    const auto& accept = s.expect.accept;
    if (s.request.repeat == 1 &&
        std::all_of(accept.begin(), accept.end(), [](const Outcome& o) { return o.passthrough(); })) {
      EXPECT_EQ(*s.risk, Risk::lost_information) << s.name << " expects the upstream's response unchanged";
    }
    if (s.category == "desync") {
      EXPECT_EQ(*s.risk, Risk::desync) << s.name;
    }
  }
}
