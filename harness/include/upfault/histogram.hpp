#pragma once
/// A log-linear histogram of non-negative integers (latencies in nanoseconds), in the manner of
/// HdrHistogram: every power-of-two range is split into 1024 equal sub-buckets, so any recorded
/// value is reported within 1/1024 (< 0.1 %) of itself — three significant digits — over the whole
/// 64-bit range. Recording is O(1) and never allocates; the counters are allocated once.
#include <cstdint>
#include <vector>

namespace upfault {

class Histogram {
 public:
  Histogram();

  void record(std::uint64_t value, std::uint64_t count = 1);
  /// Adds every sample of `other` (e.g. per-thread histograms into one).
  void merge(const Histogram& other);
  void reset();

  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t min() const { return count_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const;
  /// The smallest value v such that at least p % of the samples are <= v, reported as the
  /// highest value of v's sub-bucket (never lower than the true value, at most 0.1 % higher),
  /// and never beyond the exact max(). 0 when empty; p is clamped to [0, 100].
  [[nodiscard]] std::uint64_t percentile(double p) const;

  /// Sub-buckets per power of two beyond the linear start; the relative resolution is 1/kSubBuckets.
  static constexpr unsigned kSubBucketBits = 10;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;

  /// The counter a value falls in, and the highest value that counter holds (exposed for tests).
  [[nodiscard]] static std::size_t index_of(std::uint64_t value);
  [[nodiscard]] static std::uint64_t highest_in(std::size_t index);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace upfault
