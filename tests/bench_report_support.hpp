#pragma once
// Bench results made from known samples, as run_bench would return them, for the tests of what
// the bench reports (the console table, the JSON report, --fail-if, merging).
#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "upfault/bench.hpp"

namespace upfault::test {

/// One sample: in which second of the window it completed, its class, its latency (ns) and status
/// (0: an error of kind `timeout` instead of a response).
struct Sample {
  std::size_t second = 0;
  bool healthy = true;
  std::uint64_t latency_ns = 0;
  int status = 200;
};

/// A two-entry mix: "ok" (healthy) and "silent" (faulty, judged: it accepts 504 only).
inline BenchOptions two_entry_options(double rate = 0) {
  BenchOptions o;
  o.mix = {MixEntry{"ok", 9, "/__upfault/ok/", true}, MixEntry{"silent", 1, "/__upfault/silent/", false}};
  o.mix[1].judged = true;
  o.mix[1].accepts = {504};
  o.rate = rate;
  o.connections = 8;
  o.threads = 1;
  return o;
}

/// The result run_bench would return for these samples over `seconds` (mix of two_entry_options).
inline BenchResult result_of(const std::vector<Sample>& samples, double seconds) {
  BenchResult r;
  r.seconds = seconds;
  r.send_seconds = seconds;
  r.started_at = 1'700'000'000.0;
  r.per_entry.resize(2);
  std::map<std::pair<std::size_t, bool>, Histogram> per_second;
  r.series.resize(static_cast<std::size_t>(seconds + 0.999));
  for (const auto& s : samples) {
    auto& stats = r.per_entry[s.healthy ? 0 : 1];
    ++r.sent;
    if (r.series.size() <= s.second) r.series.resize(s.second + 1);
    auto& slice = s.healthy ? r.series[s.second].healthy : r.series[s.second].faulty;
    if (s.status == 0) {
      ++stats.errors[static_cast<std::size_t>(BenchError::timeout)];
      ++slice.errors;
      continue;
    }
    stats.latency.record(s.latency_ns);
    ++stats.responses;
    ++stats.status[s.status];
    ++slice.responses;
    slice.max_ns = std::max(slice.max_ns, s.latency_ns);
    per_second[{s.second, s.healthy}].record(s.latency_ns);
  }
  for (const auto& [key, h] : per_second)
    (key.second ? r.series[key.first].healthy : r.series[key.first].faulty).counts = hdr_payload(h);
  r.per_entry[1].wrong = wrong_answers(two_entry_options().mix[1], r.per_entry[1]);
  r.total.merge(r.per_entry[0]);
  r.total.merge(r.per_entry[1]);
  r.healthy.merge(r.per_entry[0]);
  r.faulty.merge(r.per_entry[1]);
  return r;
}

/// `count` samples of `latency_ns` in `second`.
inline void add(std::vector<Sample>& out, std::size_t count, std::uint64_t latency_ns, std::size_t second = 0,
                bool healthy = true, int status = 200) {
  for (std::size_t i = 0; i < count; ++i) out.push_back({second, healthy, latency_ns, status});
}

}  // namespace upfault::test
