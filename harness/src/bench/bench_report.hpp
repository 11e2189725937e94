#pragma once
// The blocks of `upfault bench`'s JSON report (docs/bench.md), shared by the writer of a run's
// report and merge_bench_reports.
#include <boost/json.hpp>

#include "upfault/bench.hpp"

namespace upfault::bench_report {

inline constexpr std::string_view kSchema = "upfault-bench/1";

/// A class of requests: counts, latency percentiles, the full histogram; `rps` its responses per second.
[[nodiscard]] boost::json::object stats_json(const BenchStats& s, double rps);
/// The per-second series; `split`: each second also healthy and faulty apart.
[[nodiscard]] boost::json::array series_json(const std::vector<BenchSecond>& series, bool split);
[[nodiscard]] boost::json::array fail_if_json(const std::vector<FailIfOutcome>& outcomes);
[[nodiscard]] boost::json::array strings_json(const std::vector<std::string>& texts);
/// The whole report (bench_to_json before it is serialized).
[[nodiscard]] boost::json::object report_json(const BenchOptions& o, const BenchResult& r, const BenchTarget& t,
                                              const BenchVerdict& v);

}  // namespace upfault::bench_report
