// --repeat: the suite run N times; every scenario keeps each run's outcome, and one whose outcome
// varied shows its distribution on the console and in every report (upfault/repeat.hpp).
#include "repeat.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "upfault/repeat.hpp"
#include "upfault/report.hpp"

namespace upfault::cli {

SuiteRun run_repeated(const std::vector<Scenario>& scenarios, SuiteOptions so, unsigned repeat, unsigned& completed,
                      const AfterRun& after_run) {
  SuiteRun run;
  RepeatedRuns runs;
  double wall = 0;
  completed = 0;
  for (unsigned k = 1; k <= repeat; ++k) {
    if (k > 1) so.on_ready = nullptr, so.run.on_result = nullptr;
    run = run_suite(scenarios, so);
    wall += run.wall_seconds;
    if (!run.setup_error.empty()) break;
    runs.add(run.results);
    if (after_run) after_run(k, run);
    if (run.interrupted) break;
    ++completed;
  }
  if (repeat > 1 && runs.runs() > 0) run.results = runs.results();
  run.wall_seconds = wall;
  return run;
}

void print_run_line(unsigned k, unsigned repeat, const SuiteRun& run) {
  Tally t;
  for (const auto& r : run.results) t.add(r.verdict.kind);
  fmt::print("run {}/{}{}: {} pass, {} stricter, {} fail, {} error ({:.2f} s)\n", k, repeat,
             run.interrupted ? " (stopped)" : "", t.pass, t.stricter, t.fail, t.error, run.wall_seconds);
  std::fflush(stdout);
}

int report_repeats(const std::vector<ScenarioResult>& results, unsigned completed, unsigned repeat, bool colour) {
  int unstable = 0, varied = 0;
  for (const auto& r : results) {
    if (r.runs.empty()) continue;
    if (unstable + varied == 0) fmt::print("\nwhat varied over the runs:\n");
    ++(r.unstable() ? unstable : varied);
    print_result(stdout, r, colour, false);
  }
  fmt::print("repeat: {}, {} scenario{} changed verdict{}\n",
             completed == repeat ? fmt::format("{} runs", repeat)
                                 : fmt::format("{} of {} runs completed (stopped by a signal during run {})", completed,
                                               repeat, completed + 1),
             unstable, unstable == 1 ? "" : "s",
             varied ? fmt::format(" ({} more gave the same verdict for different reasons)", varied) : "");
  return unstable;
}

}  // namespace upfault::cli
