#pragma once
// --repeat for `upfault run` and `upfault matrix` (app/repeat.cpp): the suite run N times through
// one proxy, every run's outcome of each scenario kept (upfault/repeat.hpp).
#include <functional>
#include <vector>

#include "upfault/runner.hpp"

namespace upfault::cli {

/// Called after each run of a repeated suite: which (1-based) and the run.
using AfterRun = std::function<void(unsigned k, const SuiteRun& run)>;

/// The suite `repeat` times through one proxy (a fresh proxy and upstream each time). Returns the
/// last run (its setup error, interruption, isolation and death facts) with, when `repeat` > 1, its
/// results replaced by one per scenario over every run (RepeatedRuns::results: the worst run's,
/// with each distinct outcome) and its wall time the sum of all the runs'. Stops at a setup error
/// or a signal; `completed` counts the runs that ended without one. `so`'s console hooks
/// (on_ready, on_result) serve the first run only.
[[nodiscard]] SuiteRun run_repeated(const std::vector<Scenario>& scenarios, SuiteOptions so, unsigned repeat,
                                    unsigned& completed, const AfterRun& after_run = nullptr);

/// `upfault run --repeat`'s line after run k: its verdict counts and wall time.
void print_run_line(unsigned k, unsigned repeat, const SuiteRun& run);

/// Prints every scenario whose outcome varied (print_result: each outcome with its count), then
/// "repeat: N runs, M scenarios changed verdict" (or how many of the N completed, when a signal
/// stopped them); returns M.
int report_repeats(const std::vector<ScenarioResult>& results, unsigned completed, unsigned repeat, bool colour);

}  // namespace upfault::cli
