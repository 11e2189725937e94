// The latency histogram against distributions whose percentiles are known exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <random>
#include <string>
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

// HdrHistogram's V2 encoding: the counters as ZigZag LEB128, a run of empty counters as minus its length.
TEST(HistogramHdr, PayloadIsHdrHistogramsV2Counters) {
  Histogram h;
  h.record(0);
  h.record(5);
  h.record(7, 3);
  // counters 0..7: 1 0 0 0 0 1 0 3 → 1, -4 (four empty), 1, 0 (one empty), 3
  EXPECT_EQ(hdr_payload(h), std::string("\x02\x07\x02\x00\x06", 5));
  EXPECT_EQ(hdr_payload(Histogram{}), "");
  Histogram big;
  big.record(1, std::uint64_t{1} << 62);  // 9 bytes: 8 of 7 bits, the last of 8
  EXPECT_EQ(hdr_payload(big), std::string("\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80", 10));
  Histogram back;
  ASSERT_TRUE(hdr_add_payload(hdr_payload(big), back));
  EXPECT_EQ(back.counter(1), std::uint64_t{1} << 62);
  EXPECT_EQ(back.count(), std::uint64_t{1} << 62);
}

// The counters are HdrHistogram's for 3 significant digits, index for index: 2048 exact ones,
// then 1024 per power of two.
TEST(HistogramHdr, CountersAreHdrHistogramsForThreeSignificantDigits) {
  EXPECT_EQ(Histogram::index_of(2047), 2047u);
  EXPECT_EQ(Histogram::index_of(2048), 2048u);  // bucket 1, sub-bucket 1024: (1+1)·1024 + 0
  EXPECT_EQ(Histogram::index_of(4095), 3071u);
  EXPECT_EQ(Histogram::index_of(4096), 3072u);
  EXPECT_EQ(Histogram::lowest_in(3071), 4094u);
  EXPECT_EQ(Histogram::highest_in(3071), 4095u);
  EXPECT_EQ(Histogram::index_of(1'000'000), (9 + 1) * 1024u + (1'000'000 >> 9) - 1024);
}

TEST(HistogramHdr, Base64RoundTripKeepsEveryCounter) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> d(13.0, 2.5);
  Histogram h;
  for (int i = 0; i < 100'000; ++i) h.record(static_cast<std::uint64_t>(d(rng)));
  const std::string text = hdr_to_base64(h);
  EXPECT_EQ(text.rfind("HISTF", 0), 0u) << text.substr(0, 20);  // as in every HdrHistogram interval log
  auto back = hdr_from_base64(text);
  ASSERT_TRUE(back) << back.error();
  for (std::size_t i = 0; i < Histogram::kCounters; ++i) ASSERT_EQ(back->counter(i), h.counter(i)) << i;
  EXPECT_EQ(back->count(), h.count());
  ASSERT_TRUE(back->set_exact(h.min(), h.max(), h.sum()));
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) EXPECT_EQ(back->percentile(p), h.percentile(p)) << p;
  EXPECT_EQ(back->mean(), h.mean());
  // An empty one, and one past 64 KiB of payload (several stored blocks).
  auto empty = hdr_from_base64(hdr_to_base64(Histogram{}));
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_EQ(empty->count(), 0u);
  Histogram wide;
  for (std::size_t i = 0; i < Histogram::kCounters; i += 2) wide.add_to_counter(i, 1'000'000);
  auto wide_back = hdr_from_base64(hdr_to_base64(wide));
  ASSERT_TRUE(wide_back) << wide_back.error();
  EXPECT_EQ(wide_back->count(), wide.count());
  EXPECT_EQ(wide_back->counter(Histogram::kCounters - 2), 1'000'000u);
}

TEST(HistogramHdr, SetExactRefusesFiguresOfOtherCounters) {
  Histogram h;
  h.add_to_counter(Histogram::index_of(1'000'000), 2);
  h.add_to_counter(Histogram::index_of(5'000'000), 1);
  EXPECT_FALSE(h.set_exact(1'000'000, 4'000'000, 7e6));  // max in another counter
  EXPECT_FALSE(h.set_exact(900'000, 5'000'000, 7e6));    // min in another counter
  EXPECT_FALSE(h.set_exact(1'000'000, 5'000'000, 1e9));  // more than count · max
  EXPECT_TRUE(h.set_exact(1'000'000, 5'000'000, 7e6));
  EXPECT_EQ(h.max(), 5'000'000u);
  EXPECT_EQ(h.percentile(100), 5'000'000u);
  EXPECT_NEAR(h.mean(), 7e6 / 3, 1e-6);
}

// What HdrHistogram's own writers make (here hdr-histogram-js 3.0.1: 1000, 2047, 2048, 5000000 and
// 123456789 recorded) is deflate-compressed: upfault reads only the stored blocks it writes, and
// says so rather than misreading it.
TEST(HistogramHdr, ACompressedHistogramIsRefusedByName) {
  auto r = hdr_from_base64("HISTFAAAADR4nJNpmSzMwMDAx8DAwMjAwMDMAAGMDAzMbgY7FjDA+Of5mVYLMDG1bmZkWu3FBACSxgb9");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("deflate-compressed"), std::string::npos) << r.error().message;
}

// Damage is a Problem, never a crash, and leaves nothing half-added.
TEST(HistogramHdr, DamagedEncodingsAreProblems) {
  Histogram h;
  for (std::uint64_t v = 1000; v < 100'000'000; v = v * 3 / 2) h.record(v);
  const std::string good = hdr_to_base64(h);
  const std::pair<std::string, std::string> cases[] = {
      {"", "not an HdrHistogram"},
      {"HISTF", "not base64"},
      {"HIST*AAA", "not base64"},
      {good.substr(0, good.size() - 8), "length does not match"},
      {"AAAAAAAAAAAA", "not an HdrHistogram V2 compressed histogram"},
  };
  for (const auto& [text, want] : cases) {
    auto r = hdr_from_base64(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << text << ": " << r.error().message;
  }
  // Every single flipped character: a Problem or (a base64 letter changed inside a count) a histogram.
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    (void)hdr_from_base64(bad);
  }
  // Payloads that run past the last counter, or count past 2^63, or stop inside a number.
  Histogram into;
  into.record(5);
  for (auto [payload, want] : std::initializer_list<std::pair<std::string, const char*>>{
           {std::string("\xff\xff\x0d", 3), "run past its range"},  // 114688 empty counters
           {std::string("\x80", 1), "cut short"},
           {std::string("\xfe\xff\xff\xff\xff\xff\xff\xff\xff", 9) + std::string("\x02", 1), "2^63"},
       }) {
    auto r = hdr_add_payload(payload, into);
    ASSERT_FALSE(r) << want;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(into.count(), 1u);  // unchanged
}

}  // namespace
}  // namespace upfault
