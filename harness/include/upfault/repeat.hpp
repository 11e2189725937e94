#pragma once
/// `--repeat N`: every run's outcome of each scenario kept, so that a scenario whose outcome
/// varies shows its distribution (`pass 3/5, fail 2/5`, each distinct reason with its count) in
/// every report. Stability is measured this way, never written down.
#include <map>
#include <string>
#include <vector>

#include "upfault/observed.hpp"

namespace upfault {

/// The most runs `--repeat` takes (and a report read back may say).
inline constexpr unsigned kMaxRepeat = 1000;
/// The most distinct outcomes kept of one scenario; a run with yet another reason counts under
/// its verdict's "other reasons" outcome.
inline constexpr std::size_t kMaxOutcomes = 16;

/// The results of one suite run several times, through one proxy (`upfault run --repeat`,
/// `upfault matrix --repeat`).
class RepeatedRuns {
 public:
  /// Adds one run's results: all of them, or those a run stopped by a signal finished.
  void add(const std::vector<ScenarioResult>& run);
  /// One result per scenario, in the order first seen: the first run that gave the scenario its
  /// worst verdict (fail, then stricter, then pass, then error, then not-run: an error says nothing
  /// about the proxy, so it shows only where no run was judged; among runs of that verdict, one
  /// where the proxy passed a response on before one where it answered with an error of its own),
  /// with `runs` holding every distinct outcome when there was more than one (ScenarioResult::runs).
  [[nodiscard]] std::vector<ScenarioResult> results() const;
  /// How many runs were added.
  [[nodiscard]] unsigned runs() const { return runs_; }

 private:
  struct Kept {
    ScenarioResult shown;
    std::vector<RunOutcome> outcomes;  // in the order first seen
    std::vector<std::string> keys;     // each outcome's verdict and reason without its durations
  };
  std::vector<Kept> kept_;
  std::map<std::string, std::size_t> index_;
  unsigned runs_ = 0;
};

/// The most outcomes a scenario can list: kMaxOutcomes, and an "other reasons" one per verdict.
inline constexpr std::size_t kMaxRunOutcomes = kMaxOutcomes + 5;

/// How bad a verdict is for the proxy: 0 for fail (the worst), then stricter, pass, error, not-run.
[[nodiscard]] int severity(VerdictKind k);

}  // namespace upfault
