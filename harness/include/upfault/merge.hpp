#pragma once
/// Merging run reports (upfault merge): the JSON reports of the shards of one suite (--shard I/N),
/// run on one machine or many, into the report of one run. Refuses, and says why, reports of
/// different suites, of different proxies or proxy versions, a shard twice, a scenario twice, and
/// (unless partial) a missing shard.
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "upfault/problem.hpp"

namespace upfault {

struct NamedReport {
  std::string name;  ///< where it came from (a path), for messages
  std::string text;  ///< the JSON, as read (untrusted: parsed with limits)
};

/// A report file, read whole up to 64 MiB (a larger one is a Problem, never a partial read).
[[nodiscard]] Result<NamedReport> read_report(const std::string& path);

struct MergeOptions {
  bool partial = false;  ///< merge even when shards are missing (the report says which)
};

/// The merged report: results in the whole suite's order, the summary counted again, the wall
/// time the longest shard's (shards run side by side), and "merged_from" naming the inputs.
[[nodiscard]] Result<boost::json::object> merge_run_reports(const std::vector<NamedReport>& reports,
                                                            const MergeOptions& options = {});

}  // namespace upfault
