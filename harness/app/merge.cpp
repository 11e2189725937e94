// upfault merge: the reports of shards, or of machines, as the report of one run.
#include <fmt/format.h>
#include <boost/json.hpp>

#include "commands.hpp"
#include "options.hpp"
#include "upfault/baseline.hpp"
#include "upfault/bench.hpp"
#include "upfault/merge.hpp"
#include "upfault/report.hpp"
#include "upfault/text.hpp"

namespace upfault::cli {

namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string json, junit, summary;
  std::string baseline;  // hold the merged run to these known outcomes
  bool partial = false;
};

// --baseline: the file read, and held to the merged report's --strict; nullopt without one.
Result<std::optional<Baseline>> held_to(const std::string& path, const boost::json::object& merged) {
  if (path.empty()) return std::optional<Baseline>();
  auto b = load_baseline(path);
  if (!b) return b.error();
  const auto* suite = merged.if_contains("suite");
  const auto* strict = suite && suite->is_object() ? suite->as_object().if_contains("strict") : nullptr;
  if (auto fits = baseline_fits(*b, path, strict && strict->is_bool() && strict->as_bool()); !fits) return fits.error();
  return std::optional<Baseline>(std::move(*b));
}

int merge(const MergeArgs& a) {
  auto fail = [](const std::string& message) {  // a message may quote a report's text: never raw to a terminal
    fmt::print(stderr, "upfault merge: {}\n", safe_text(message, false));
    return kInputError;
  };
  std::vector<NamedReport> reports;
  for (const auto& path : a.inputs) {
    auto report = read_report(path);
    if (!report) return fail(report.error().message);
    reports.push_back(std::move(*report));
  }
  // Bench reports (upfault-bench/1) of load generators that ran together: one report whose
  // histogram holds every sample, so its percentiles are exact.
  if (!reports.empty() && reports.front().text.find("\"upfault-bench/") != std::string::npos) {
    if (!a.junit.empty() || !a.summary.empty() || !a.baseline.empty())
      return fail("bench reports merge into --json only, and hold to no baseline");
    OutputFile out;
    if (auto opened = out.open(a.json); !opened) return fail(opened.error().message);
    std::vector<std::string> texts;
    for (auto& r : reports) texts.push_back(std::move(r.text));
    auto merged = merge_bench_reports(texts, a.partial);
    if (!merged) return fail(merged.error().message);
    if (!out.wanted())
      fmt::print("{}", *merged);
    else if (auto written = out.write(*merged); !written)
      return fail(written.error().message);
    fmt::print(stderr, "upfault merge: {} bench reports into one\n", texts.size());
    return kPassed;
  }
  OutputFile json, junit, summary;
  for (auto [file, path] : {std::pair{&json, &a.json}, {&junit, &a.junit}, {&summary, &a.summary}})
    if (auto opened = file->open(*path); !opened) return fail(opened.error().message);
  auto merged = merge_run_reports(reports, {a.partial});
  if (!merged) return fail(merged.error().message);
  auto baseline = held_to(a.baseline, *merged);
  if (!baseline) return fail(baseline.error().message);
  const bool holds = !*baseline || apply_baseline(*merged, **baseline, a.baseline).changes.empty();
  Tally t;
  if (const auto* rows = merged->if_contains("results"))
    for (const auto& r : rows->as_array()) t.add(text_of(r.as_object(), "verdict"));
  for (auto [file, made] : {std::pair{&json, json.wanted() ? boost::json::serialize(*merged) + "\n" : ""},
                            {&junit, junit.wanted() ? junit_from_report(*merged) : ""},
                            {&summary, summary.wanted() ? summary_from_report(*merged) : ""}})
    if (file->wanted())
      if (auto written = file->write(made); !written) return fail(written.error().message);
  if (!json.wanted() && !junit.wanted() && !summary.wanted()) fmt::print("{}\n", boost::json::serialize(*merged));
  fmt::print(stderr, "{}upfault merge: {} report{}, {} scenarios: {}\n", baseline_console(*merged), reports.size(),
             reports.size() == 1 ? "" : "s", t.total(), t.line());
  if (*baseline) return holds ? kPassed : kFailed;
  return t.fail || t.error ? kFailed : kPassed;
}

}  // namespace

void setup_merge(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("merge",
                                 "Merge the JSON reports of a suite's shards (upfault run --shard I/N --json) into "
                                 "one report, JUnit file and summary; or bench reports (upfault bench --json) of load "
                                 "generators that ran together into one");
  auto a = std::make_shared<MergeArgs>();
  cmd->add_option("reports", a->inputs,
                  "JSON reports of `upfault run --json` (one per shard) or of `upfault bench --json`")
      ->required();
  cmd->add_option("--json", a->json, "Write the merged JSON report (default: print it)");
  cmd->add_option("--junit", a->junit, "Write the merged JUnit XML");
  cmd->add_option("--summary", a->summary, "Write the merged Markdown summary");
  cmd->add_option("--baseline", a->baseline,
                  "Known outcomes (from run --write-baseline): exit 0 while every merged scenario does what it says, "
                  "1 on any change; the reports show known failures as known and lead with the changes");
  cmd->add_flag("--partial", a->partial,
                "Merge even when shards are missing or a report is of a run stopped by a signal (the merged report "
                "names them and is marked incomplete)");
  cmd->callback([a, &exit_code] { exit_code = merge(*a); });
}

}  // namespace upfault::cli
