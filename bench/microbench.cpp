// Microbenchmarks of upfault's hot paths: loading scenarios, routing a request to its scenario,
// serialising a structured response, the client's parsing of what a proxy sends back, and the
// bench's latency histogram.
#include <benchmark/benchmark.h>

#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "upfault/histogram.hpp"
#include "upfault/http.hpp"
#include "upfault/loader.hpp"
#include "upfault/upstream.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void BM_LoadCorpus(benchmark::State& state) {
  for (auto _ : state) {
    auto r = upfault::load_scenarios({UPFAULT_SCENARIOS_DIR});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_LoadCorpus)->Unit(benchmark::kMillisecond);

void BM_LoadOneScenario(benchmark::State& state) {
  const auto text = read_file(UPFAULT_SCENARIOS_DIR "/framing/duplicate-content-length.toml");
  for (auto _ : state) {
    auto r = upfault::load_scenario_text(text, "bench.toml", "framing");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_LoadOneScenario);

void BM_RouteKey(benchmark::State& state) {
  const std::string target = "/__refused/__upfault/content-length-body-cut-short/some/path?x=1";
  for (auto _ : state) benchmark::DoNotOptimize(upfault::route_key(target));
}
BENCHMARK(BM_RouteKey);

void BM_SerializeResponse(benchmark::State& state) {
  upfault::ResponseImage r{200, "OK", {{"Content-Type", "text/plain"}, {"Content-Length", "5"}}, "hello"};
  for (auto _ : state) benchmark::DoNotOptimize(upfault::serialize_response(r));
}
BENCHMARK(BM_SerializeResponse);

// The client's parse of a proxy's answer, whole and in 1-byte pieces (the worst split).
void BM_ParseResponse(benchmark::State& state) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 26 Nov 2026 04:00:00 GMT\r\nContent-Type: text/plain\r\n"
      "Content-Length: 64\r\nConnection: keep-alive\r\n\r\n" +
      std::string(64, 'x');
  const auto step = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    upfault::ResponseReader reader;
    for (std::size_t at = 0; at < wire.size(); at += step) reader.feed(std::string_view(wire).substr(at, step));
    benchmark::DoNotOptimize(reader.state());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_ParseResponse)->Arg(1 << 20)->Arg(1);

// upfault bench records every response's latency: one histogram update per request.
void BM_HistogramRecord(benchmark::State& state) {
  upfault::Histogram h;
  std::mt19937_64 rng(1);
  std::exponential_distribution<double> d(1.0 / 250'000.0);  // ~250 µs in ns
  std::vector<std::uint64_t> values(4096);
  for (auto& v : values) v = static_cast<std::uint64_t>(d(rng));
  std::size_t i = 0;
  for (auto _ : state) h.record(values[i++ & 4095]);
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

// Reporting: percentiles walk the counters once each.
void BM_HistogramPercentile(benchmark::State& state) {
  upfault::Histogram h;
  for (std::uint64_t v = 1; v < 5'000'000; v += 7) h.record(v * 100);
  for (auto _ : state) benchmark::DoNotOptimize(h.percentile(99.9));
}
BENCHMARK(BM_HistogramPercentile);

}  // namespace

BENCHMARK_MAIN();
