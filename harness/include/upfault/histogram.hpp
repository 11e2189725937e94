#pragma once
/// A log-linear histogram of non-negative integers (latencies in nanoseconds), in the manner of
/// HdrHistogram: every power-of-two range is split into 1024 equal sub-buckets, so any recorded
/// value is reported within 1/1024 (< 0.1 %) of itself — three significant digits — over the whole
/// 64-bit range. Recording is O(1) and never allocates; the counters are allocated once.
///
/// The counters are exactly those of an HdrHistogram with a lowest discernible value of 1 and 3
/// significant digits (2048 sub-buckets, the first 2048 values one counter each, then 1024
/// counters per power of two), index for index, so a histogram travels losslessly in HdrHistogram's
/// own V2 encoding (hdr_to_base64), the form its interval logs and tools read.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/problem.hpp"

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
  [[nodiscard]] static std::uint64_t lowest_in(std::size_t index);
  /// How many counters there are: enough for every 64-bit value.
  static constexpr std::size_t kCounters = 2 * kSubBuckets + (64 - kSubBucketBits - 1) * kSubBuckets;

  /// For encoders: the count in one counter, and one past the highest non-empty counter (0 when empty).
  [[nodiscard]] std::uint64_t counter(std::size_t index) const { return counts_[index]; }
  [[nodiscard]] std::size_t counters_used() const { return count_ ? index_of(max_) + 1 : 0; }
  [[nodiscard]] long double sum() const { return sum_; }

  /// For decoders: adds `n` samples to counter `index` (< kCounters), taking the counter's bounds
  /// for min and max and its highest value for the sum, until set_exact() gives the exact figures
  /// that counters alone cannot tell. The caller keeps count() + n below 2^64.
  void add_to_counter(std::size_t index, std::uint64_t n);
  /// Sets the exact min, max and sum of the samples. Refused (false, nothing changed) unless min
  /// falls in the lowest non-empty counter and max in the highest, min <= max, and the sum lies
  /// between count·min and count·max: figures that do not belong to these counters.
  [[nodiscard]] bool set_exact(std::uint64_t min, std::uint64_t max, long double sum);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

/// HdrHistogram's V2 payload for `h`'s counters: each counter (up to the highest non-empty one) a
/// ZigZag LEB128 number, a run of empty counters one negative number (minus its length).
[[nodiscard]] std::string hdr_payload(const Histogram& h);
/// Adds the counters of a V2 payload to `into` (as add_to_counter does). A payload that is cut
/// short, runs past the last counter, or would make more than 2^63 samples is a Problem (and
/// leaves `into` unchanged).
[[nodiscard]] Result<void> hdr_add_payload(std::string_view payload, Histogram& into);

/// `h` as HdrHistogram's compressed V2 encoding in base64 ("HISTF…", one histogram of an interval
/// log): cookie 0x1c849314, the 40-byte V2 header (3 significant digits, lowest discernible value
/// 1, highest trackable value max(1 hour in ns, h.max()), conversion ratio 1.0) and the payload,
/// in a zlib stream of stored (uncompressed) deflate blocks, which every inflater reads.
[[nodiscard]] std::string hdr_to_base64(const Histogram& h);
/// The histogram in a text hdr_to_base64 wrote (at most kMaxHdrBase64 characters): base64, the
/// cookie, a header with 3 significant digits and lowest discernible value 1, and a zlib stream of
/// stored blocks (what upfault writes; a deflate-compressed stream is refused, as is any damage).
/// min, max and sum are those of the counters' bounds (set_exact() restores the exact ones).
[[nodiscard]] Result<Histogram> hdr_from_base64(std::string_view text);
inline constexpr std::size_t kMaxHdrBase64 = 4 << 20;

}  // namespace upfault
