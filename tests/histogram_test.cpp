// The latency histogram against distributions whose percentiles are known exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "upfault/histogram.hpp"

namespace upfault {
namespace {

// The exact percentile of sorted samples, by the same rank rule (ceil(p·n/100), at least 1).
std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size()) / 100.0));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// Reported value must be >= the true one and within 1/1024 above it: three significant digits.
void expect_within_resolution(std::uint64_t reported, std::uint64_t truth, double p) {
  EXPECT_GE(reported, truth) << "p" << p;
  EXPECT_LE(static_cast<double>(reported), static_cast<double>(truth) * (1.0 + 1.0 / 1024) + 1) << "p" << p;
}

void check_against_exact(std::vector<std::uint64_t> samples) {
  Histogram h;
  for (auto v : samples) h.record(v);
  std::sort(samples.begin(), samples.end());
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0})
    expect_within_resolution(h.percentile(p), exact(samples, p), p);
  EXPECT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.min(), samples.front());
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.percentile(100), samples.back());
}

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 0.0);
}

TEST(Histogram, UniformOneToAMillion) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 1'000'000; ++v) h.record(v);
  // Uniform 1..N: the p-th percentile is p·N/100 exactly.
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9}) {
    const auto truth = static_cast<std::uint64_t>(p * 10'000);
    expect_within_resolution(h.percentile(p), truth, p);
  }
  EXPECT_NEAR(h.mean(), 500'000.5, 1e-6);
  EXPECT_EQ(h.max(), 1'000'000u);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 2048; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 1023u);
  EXPECT_EQ(h.percentile(100), 2047u);
  EXPECT_EQ(h.percentile(0), 0u);
}

TEST(Histogram, ExponentialLatenciesMatchExactPercentiles) {
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> d(1.0 / 250'000.0);  // mean 250 µs in ns
  std::vector<std::uint64_t> samples(200'000);
  for (auto& v : samples) v = static_cast<std::uint64_t>(d(rng));
  check_against_exact(samples);
}

TEST(Histogram, LogNormalTailOverManyDecades) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(12.0, 3.0);  // ~ns to hours
  std::vector<std::uint64_t> samples(100'000);
  for (auto& v : samples) v = static_cast<std::uint64_t>(d(rng));
  check_against_exact(samples);
}

TEST(Histogram, BimodalShowsTheTailMode) {
  // 98 % at 1 ms, 2 % at 1 s: p50 and p90 are 1 ms, p99 is 1 s (a stall must not be hidden).
  Histogram h;
  h.record(1'000'000, 9'800);
  h.record(1'000'000'000, 200);
  expect_within_resolution(h.percentile(50), 1'000'000, 50);
  expect_within_resolution(h.percentile(98), 1'000'000, 98);
  expect_within_resolution(h.percentile(99), 1'000'000'000, 99);
  EXPECT_EQ(h.max(), 1'000'000'000u);
}

TEST(Histogram, MergeEqualsRecordingIntoOne) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::uint64_t> d(0, 50'000'000);
  Histogram a, b, all;
  for (int i = 0; i < 50'000; ++i) {
    auto v = d(rng);
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double p : {50.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(Histogram, WholeRangeWithoutOverflow) {
  Histogram h;
  h.record(UINT64_MAX);
  h.record(0);
  EXPECT_EQ(h.percentile(100), UINT64_MAX);
  EXPECT_EQ(h.percentile(50), 0u);
  // Every counter's highest value maps back to that counter, and the next value to the next one.
  for (std::uint64_t v : {2047ull, 2048ull, 4095ull, 4096ull, 123'456'789ull, 1ull << 40, (1ull << 63) + 5}) {
    const auto i = Histogram::index_of(v);
    EXPECT_GE(Histogram::highest_in(i), v);
    EXPECT_EQ(Histogram::index_of(Histogram::highest_in(i)), i);
    if (Histogram::highest_in(i) < UINT64_MAX) {
      EXPECT_EQ(Histogram::index_of(Histogram::highest_in(i) + 1), i + 1);
    }
  }
}

}  // namespace
}  // namespace upfault
