#pragma once
// The per-second series of a bench run, as one worker (one thread) records it while responses and
// errors complete, in time order.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "upfault/bench.hpp"

namespace upfault {

class SeriesRecorder {
 public:
  /// Anything completing past second `last` of the window counts in it (SIZE_MAX: no last second).
  explicit SeriesRecorder(std::size_t last) : last_(last) {}
  void response(std::size_t second, bool healthy, std::uint64_t latency_ns);
  void error(std::size_t second, bool healthy);
  /// Every second recorded, from the window's first (empty ones included); the recorder is spent.
  [[nodiscard]] std::vector<BenchSecond> finish();

 private:
  void move_to(std::size_t second);  // closes the open second when `second` is a later one
  void close_open();

  std::size_t last_;
  std::vector<BenchSecond> closed_;
  std::size_t open_ = 0;
  BenchSecond current_;
  Histogram healthy_, faulty_;  // the open second's latencies
};

/// Adds `more` to `into`, second by second (the longer series wins the length).
void merge_series(std::vector<BenchSecond>& into, const std::vector<BenchSecond>& more);

}  // namespace upfault
