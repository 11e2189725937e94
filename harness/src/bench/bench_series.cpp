// The per-second series: what completed in each second of the measured window, per class.
#include "bench/bench_series.hpp"

#include <algorithm>
#include <stdexcept>

namespace upfault {

Histogram BenchSlice::latency() const {
  Histogram h;
  if (counts.empty()) return h;
  // Written by upfault (a run, or merge_bench_reports after checking it): a damaged one is a bug.
  if (!hdr_add_payload(counts, h)) throw std::logic_error("a per-second histogram is damaged");
  const auto n = static_cast<long double>(h.count());
  const long double low = n * static_cast<long double>(h.min());
  const long double sum = std::clamp(h.sum(), low, std::max(low, n * static_cast<long double>(max_ns)));
  if (!h.set_exact(h.min(), max_ns, sum)) throw std::logic_error("a per-second maximum does not fit its histogram");
  return h;
}

void BenchSlice::merge(const BenchSlice& other) {
  if (other.responses + other.errors == 0 && other.counts.empty()) return;
  Histogram h = latency();
  if (!other.counts.empty() && !hdr_add_payload(other.counts, h))
    throw std::logic_error("a per-second histogram is damaged");
  responses += other.responses;
  errors += other.errors;
  max_ns = std::max(max_ns, other.max_ns);
  counts = hdr_payload(h);
}

BenchSlice BenchSecond::all() const {
  BenchSlice s = healthy;
  s.merge(faulty);
  return s;
}

void SeriesRecorder::close_open() {
  for (auto [slice, hist] : {std::pair{&current_.healthy, &healthy_}, std::pair{&current_.faulty, &faulty_}}) {
    slice->counts = hdr_payload(*hist);
    if (hist->count()) hist->reset();
  }
  closed_.push_back(std::move(current_));
  current_ = {};
}

void SeriesRecorder::move_to(std::size_t second) {
  second = std::min(second, last_);
  if (second <= open_) return;
  close_open();
  closed_.resize(second);  // the seconds in between, when nothing completed
  open_ = second;
}

void SeriesRecorder::response(std::size_t second, bool healthy, std::uint64_t latency_ns) {
  move_to(second);
  auto& slice = healthy ? current_.healthy : current_.faulty;
  ++slice.responses;
  slice.max_ns = std::max(slice.max_ns, latency_ns);
  (healthy ? healthy_ : faulty_).record(latency_ns);
}

void SeriesRecorder::error(std::size_t second, bool healthy) {
  move_to(second);
  ++(healthy ? current_.healthy : current_.faulty).errors;
}

std::vector<BenchSecond> SeriesRecorder::finish() {
  close_open();
  return std::move(closed_);
}

void merge_series(std::vector<BenchSecond>& into, const std::vector<BenchSecond>& more) {
  if (into.size() < more.size()) into.resize(more.size());
  for (std::size_t i = 0; i < more.size(); ++i) {
    into[i].healthy.merge(more[i].healthy);
    into[i].faulty.merge(more[i].faulty);
  }
}

}  // namespace upfault
