#include "upfault/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace upfault {

namespace {
// Values below 2 * kSubBuckets are counted exactly (one counter each); above, each power of two
// [2^e, 2^(e+1)) for e >= kSubBucketBits + 1 gets kSubBuckets counters of width 2^(e - kSubBucketBits).
constexpr std::size_t kLinear = 2 * Histogram::kSubBuckets;
static_assert(Histogram::kCounters == kLinear + (64 - Histogram::kSubBucketBits - 1) * Histogram::kSubBuckets);
}  // namespace

Histogram::Histogram() : counts_(kCounters, 0) {}

std::size_t Histogram::index_of(std::uint64_t value) {
  if (value < kLinear) return static_cast<std::size_t>(value);
  const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(value));  // >= kSubBucketBits + 1
  const unsigned shift = msb - kSubBucketBits;                                // >= 1
  const std::uint64_t sub = (value >> shift) - kSubBuckets;                   // [0, kSubBuckets)
  return kLinear + (shift - 1) * kSubBuckets + static_cast<std::size_t>(sub);
}

std::uint64_t Histogram::highest_in(std::size_t index) {
  if (index < kLinear) return index;
  const std::size_t i = index - kLinear;
  const unsigned shift = static_cast<unsigned>(i / kSubBuckets) + 1;
  const std::uint64_t sub = i % kSubBuckets + kSubBuckets;
  const std::uint64_t low = sub << shift;
  return low + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t Histogram::lowest_in(std::size_t index) {
  if (index < kLinear) return index;
  const unsigned shift = static_cast<unsigned>((index - kLinear) / kSubBuckets) + 1;
  return highest_in(index) - ((std::uint64_t{1} << shift) - 1);
}

void Histogram::add_to_counter(std::size_t index, std::uint64_t n) {
  if (n == 0) return;
  counts_[index] += n;
  count_ += n;
  min_ = std::min(min_, lowest_in(index));
  max_ = std::max(max_, highest_in(index));
  sum_ += static_cast<long double>(highest_in(index)) * n;
}

bool Histogram::set_exact(std::uint64_t min, std::uint64_t max, long double sum) {
  if (count_ == 0) return min == 0 && max == 0 && sum == 0;
  if (min > max || index_of(min) != index_of(min_) || index_of(max) != index_of(max_)) return false;
  // The sum is a float: allow for its rounding (relative 2^-50 is far above long double's).
  const auto n = static_cast<long double>(count_);
  const long double slack = (n * static_cast<long double>(max)) * 1e-15L + 1;
  if (sum < n * static_cast<long double>(min) - slack || sum > n * static_cast<long double>(max) + slack) return false;
  min_ = min;
  max_ = max;
  sum_ = sum;
  return true;
}

void Histogram::record(std::uint64_t value, std::uint64_t count) {
  counts_[index_of(value)] += count;
  count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * count;
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() { *this = Histogram(); }

double Histogram::mean() const { return count_ ? static_cast<double>(sum_ / count_) : 0.0; }

std::uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the sample that p % of the samples are at or below (at least the first).
  auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(count_) / 100.0));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_in(i), min_, max_);
  }
  return max_;
}

}  // namespace upfault
