// What upfault bench reports, through the code that writes it: results made from known samples go
// through the console table (bench_to_text) and the JSON report (bench_to_json), and each figure
// must be the one its column or field names — p99 the p99, not the p90. Then --fail-if (parsing,
// each comparison's direction, each metric) and the warning about a rate that was not achieved.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "bench_report_support.hpp"
#include "upfault/bench.hpp"

namespace upfault {
namespace {

namespace json = boost::json;
using test::add;
using test::Sample;

// Healthy: p50 1 ms, p90 2 ms, p99 3 ms, p99.9 4 ms, max 5 ms (1000 samples, each percentile its
// own value). Faulty: 100 samples, p50 100 ms, p90 200 ms, p99 = p99.9 = max 300 ms, and 10 errors.
// Second 0 has the 1 ms and 100 ms ones, second 1 the rest.
std::vector<Sample> known_samples() {
  std::vector<Sample> s;
  add(s, 899, 1'000'000, 0);
  add(s, 90, 2'000'000, 1);
  add(s, 9, 3'000'000, 1);
  add(s, 1, 4'000'000, 1);
  add(s, 1, 5'000'000, 1);
  add(s, 50, 100'000'000, 0, false, 504);
  add(s, 40, 200'000'000, 1, false, 504);
  add(s, 10, 300'000'000, 1, false, 504);
  add(s, 10, 0, 1, false, 0);
  return s;
}

// The token of `row` in the column whose header is `name` (columns are right-aligned).
std::string column(const std::string& header, const std::string& row, const std::string& name) {
  std::size_t at = 0;
  while ((at = header.find(name, at)) != std::string::npos) {
    const std::size_t end = at + name.size();
    if (header[at - 1] == ' ' && (end == header.size() || header[end] == ' ')) {
      std::istringstream in(row.substr(0, end));
      std::string token, last;
      while (in >> token) last = token;
      return last;
    }
    at = end;
  }
  ADD_FAILURE() << "no column " << name << " in: " << header;
  return {};
}

// The line of `text` whose first word is `label` (the header: the line with "responses").
std::string line(const std::string& text, const std::string& label) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::istringstream words(l);
    std::string first;
    words >> first;
    if (first == label) return l;
  }
  ADD_FAILURE() << "no line " << label << " in:\n" << text;
  return {};
}

TEST(BenchReport, TableShowsEachPercentileInItsColumn) {
  const auto o = test::two_entry_options();
  const auto r = test::result_of(known_samples(), 2.0);
  const std::string text = bench_to_text(o, r);
  const std::string header = line(text, "responses");
  const std::string healthy = line(text, "healthy"), faulty = line(text, "faulty");
  EXPECT_EQ(column(header, healthy, "responses"), "1000");
  EXPECT_EQ(column(header, healthy, "second"), "500.0");  // "per second": 1000 in 2 s
  EXPECT_EQ(column(header, healthy, "p50"), "1.00ms");
  EXPECT_EQ(column(header, healthy, "p90"), "2.00ms");
  EXPECT_EQ(column(header, healthy, "p99"), "3.00ms");
  EXPECT_EQ(column(header, healthy, "p99.9"), "4.00ms");
  EXPECT_EQ(column(header, healthy, "max"), "5.00ms");
  EXPECT_EQ(column(header, healthy, "errors"), "0");
  EXPECT_EQ(column(header, faulty, "p50"), "100ms");
  EXPECT_EQ(column(header, faulty, "p90"), "200ms");
  EXPECT_EQ(column(header, faulty, "p99"), "300ms");
  EXPECT_EQ(column(header, faulty, "errors"), "10");
  EXPECT_EQ(column(header, line(text, "all"), "responses"), "1100");
  EXPECT_EQ(column(header, line(text, "ok"), "p99"), "3.00ms");
  EXPECT_EQ(column(header, line(text, "silent"), "p50"), "100ms");
  EXPECT_NE(text.find("status   200 × 1000, 504 × 100"), std::string::npos) << text;
  EXPECT_NE(text.find("errors   timeout × 10"), std::string::npos) << text;
  // Second 0 had 949 responses, second 1 had 151. With a faulty share the range is of the healthy
  // p99: 1 ms in second 0 (899 × 1 ms), 4 ms in second 1 (rank 100 of its 101).
  EXPECT_NE(text.find("per second: responses 151 (second 1) to 949 (second 0), healthy p99 1.00ms to 4.00ms "
                      "(second 1)\n"),
            std::string::npos)
      << text;
  // Without one, of all requests: 100 ms in second 0 (rank 940 of 949), 300 ms in second 1.
  auto healthy_only = o;
  healthy_only.mix[1].healthy = true;
  EXPECT_NE(bench_to_text(healthy_only, r).find("p99 100ms to 300ms (second 1)\n"), std::string::npos);
}

const json::object& obj(const json::value& v, std::string_view key) { return v.as_object().at(key).as_object(); }
double num(const json::object& o, std::string_view key) { return o.at(key).to_number<double>(); }

// A percentile in ms as the histogram reports it: at most 0.1 % above the sample.
void expect_ms(const json::object& lat, std::string_view key, double want) {
  const double got = num(lat, key);
  EXPECT_GE(got, want) << key;
  EXPECT_LE(got, want * 1.001) << key;
}

TEST(BenchReport, JsonHasEachPercentileUnderItsName) {
  const auto o = test::two_entry_options();
  const auto r = test::result_of(known_samples(), 2.0);
  const auto doc = json::parse(bench_to_json(o, r, BenchTarget{"http://127.0.0.1:1", "", ""}));
  const auto& h = obj(doc, "healthy");
  const auto& lat = h.at("latency_ms").as_object();
  expect_ms(lat, "p50", 1);
  expect_ms(lat, "p90", 2);
  expect_ms(lat, "p99", 3);
  expect_ms(lat, "p99.9", 4);
  EXPECT_EQ(num(lat, "max"), 5.0);
  EXPECT_EQ(num(lat, "min"), 1.0);
  EXPECT_NEAR(num(lat, "mean"), (899 * 1 + 90 * 2 + 9 * 3 + 4 + 5) / 1000.0, 1e-9);
  EXPECT_EQ(num(h, "requests_per_second"), 500.0);
  const auto& f = obj(doc, "faulty");
  expect_ms(f.at("latency_ms").as_object(), "p50", 100);
  expect_ms(f.at("latency_ms").as_object(), "p90", 200);
  EXPECT_EQ(f.at("errors").as_object().at("timeout").as_int64(), 10);
  EXPECT_EQ(f.at("errors_total").as_int64(), 10);
  EXPECT_EQ(f.at("status").as_object().at("504").as_int64(), 100);
  const auto& top = doc.as_object();
  EXPECT_EQ(top.at("responses").as_int64(), 1100);
  EXPECT_EQ(num(top, "requests_per_second"), 550.0);
  EXPECT_EQ(top.at("mix").as_array()[0].as_object().at("name").as_string(), "ok");
  expect_ms(top.at("mix").as_array()[0].as_object().at("latency_ms").as_object(), "p99", 3);
  expect_ms(top.at("mix").as_array()[1].as_object().at("latency_ms").as_object(), "p90", 200);
}

// The histogram in the report is the one the percentiles came from, and reads back losslessly.
TEST(BenchReport, JsonHistogramReadsBackToTheSamePercentiles) {
  const auto o = test::two_entry_options();
  const auto r = test::result_of(known_samples(), 2.0);
  const auto doc = json::parse(bench_to_json(o, r, BenchTarget{"http://127.0.0.1:1", "", ""}));
  for (const char* block : {"healthy", "faulty"}) {
    const auto& hist = obj(doc, block).at("histogram").as_object();
    EXPECT_EQ(hist.at("unit").as_string(), "ns");
    auto h = hdr_from_base64(hist.at("hdr").as_string());
    ASSERT_TRUE(h) << h.error();
    ASSERT_TRUE(h->set_exact(hist.at("min_ns").to_number<std::uint64_t>(), hist.at("max_ns").to_number<std::uint64_t>(),
                             hist.at("sum_ns").to_number<double>()));
    const auto& want = std::string(block) == "healthy" ? r.healthy.latency : r.faulty.latency;
    EXPECT_EQ(h->count(), want.count());
    for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) EXPECT_EQ(h->percentile(p), want.percentile(p)) << p;
    EXPECT_EQ(h->mean(), want.mean());
  }
  // The top level holds every sample.
  auto all = hdr_from_base64(doc.as_object().at("histogram").as_object().at("hdr").as_string());
  ASSERT_TRUE(all);
  EXPECT_EQ(all->count(), 1100u);
}

TEST(BenchReport, JsonSeriesHasEachSecondsCountsAndP99) {
  const auto o = test::two_entry_options();
  const auto r = test::result_of(known_samples(), 2.0);
  const auto doc = json::parse(bench_to_json(o, r, BenchTarget{"http://127.0.0.1:1", "", ""}));
  const auto& series = doc.as_object().at("series").as_array();
  ASSERT_EQ(series.size(), 2u);
  const auto& s0 = series[0].as_object();
  const auto& s1 = series[1].as_object();
  EXPECT_EQ(s0.at("second").as_int64(), 0);
  EXPECT_EQ(s0.at("responses").as_int64(), 949);
  EXPECT_EQ(s1.at("responses").as_int64(), 151);
  EXPECT_EQ(s1.at("errors").as_int64(), 10);
  // Second 0: 899 × 1 ms and 50 × 100 ms: p99 is 100 ms; second 1's healthy p99 is 4 ms (rank 100 of 100).
  expect_ms(s0.at("latency_ms").as_object(), "p99", 100);
  EXPECT_EQ(num(s0.at("latency_ms").as_object(), "max"), 100.0);
  EXPECT_EQ(num(s1.at("latency_ms").as_object(), "max"), 300.0);
  const auto& h1 = s1.at("healthy").as_object();
  EXPECT_EQ(h1.at("responses").as_int64(), 101);
  expect_ms(h1.at("latency_ms").as_object(), "p99", 4);
  EXPECT_EQ(num(h1.at("latency_ms").as_object(), "max"), 5.0);
  EXPECT_EQ(s1.at("faulty").as_object().at("errors").as_int64(), 10);
  auto h = hdr_from_base64(h1.at("histogram").as_string());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->count(), 101u);
  // A second in which nothing completed says so instead of a latency of 0.
  auto stalled = test::result_of(known_samples(), 3.0);
  const auto d3 = json::parse(bench_to_json(o, stalled, BenchTarget{"http://127.0.0.1:1", "", ""}));
  const auto& s2 = d3.as_object().at("series").as_array()[2].as_object();
  EXPECT_EQ(s2.at("responses").as_int64(), 0);
  EXPECT_TRUE(s2.at("latency_ms").is_null());
  EXPECT_FALSE(s2.contains("histogram"));
}

FailIf parsed(std::string_view text) {
  auto f = parse_fail_if(text);
  EXPECT_TRUE(f) << text << ": " << (f ? "" : f.error().message);
  return f ? *f : FailIf{};
}

TEST(BenchFailIf, ParsesEachMetricScopeAndUnit) {
  auto p99 = parsed("p99>5ms");
  EXPECT_EQ(p99.metric, FailIf::Metric::percentile);
  EXPECT_EQ(p99.percentile, 99);
  EXPECT_EQ(p99.op, FailIf::Op::greater);
  EXPECT_EQ(p99.threshold, 5);
  EXPECT_EQ(p99.unit, "ms");
  EXPECT_EQ(p99.scope, FailIf::Scope::all);
  auto p999 = parsed(" healthy.p99.9 >= 250us ");
  EXPECT_EQ(p999.text, "healthy.p99.9>=250us");
  EXPECT_EQ(p999.scope, FailIf::Scope::healthy);
  EXPECT_EQ(p999.percentile, 99.9);
  EXPECT_EQ(p999.op, FailIf::Op::greater_equal);
  EXPECT_EQ(p999.unit, "us");
  EXPECT_EQ(parsed("faulty.max<=1.5s").scope, FailIf::Scope::faulty);
  EXPECT_EQ(parsed("rps<20000").metric, FailIf::Metric::rps);
  EXPECT_EQ(parsed("rps<20000").op, FailIf::Op::less);
  EXPECT_EQ(parsed("errors>0").metric, FailIf::Metric::errors);
  auto share = parsed("errors%>1");
  EXPECT_TRUE(share.share);
  EXPECT_EQ(share.unit, "%");
  EXPECT_TRUE(parsed("errors>1%").share);
  auto s5 = parsed("status5xx>0");
  EXPECT_EQ(s5.metric, FailIf::Metric::status);
  EXPECT_EQ(s5.status_low, 500);
  EXPECT_EQ(s5.status_high, 599);
  auto s502 = parsed("status502%>=0.5");
  EXPECT_EQ(s502.status_low, 502);
  EXPECT_EQ(s502.status_high, 502);
  EXPECT_TRUE(s502.share);
  EXPECT_EQ(parsed("mean>2ms").metric, FailIf::Metric::mean);
  EXPECT_EQ(parsed("min>2ms").metric, FailIf::Metric::min);
  EXPECT_EQ(parsed("responses%<99").metric, FailIf::Metric::responses);
}

TEST(BenchFailIf, MalformedConditionsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"p99>>5ms", "one comparison"},
      {"p99=5ms", "no comparison"},
      {"p99>5", "a latency needs a unit"},
      {"p99>5m", "unknown unit \"m\""},
      {"p99>fast", "unknown unit"},
      {"p99>ms", "is not a number"},
      {"p99>-5ms", ""},
      {"p999>5ms", "unknown metric \"p999\""},
      {"p101>5ms", "unknown metric"},
      {"p9>5ms", ""},  // valid: the 9th percentile
      {"rsp<100", "did you mean \"rps\"?"},
      {"healty.p99>5ms", "did you mean \"healthy\"?"},
      {"rps%<5", "only a count"},
      {"rps<5%", "rps is a rate"},
      {"p99%>5", "only a count"},
      {"status6xx>0", "unknown metric"},
      {"status5x>0", "unknown metric"},
      {"status5ab>0", "is not a status"},
      {">5ms", "no metric"},
      {"p99>", "no value"},
      {"", "no comparison"},
  };
  for (auto [text, want] : cases) {
    auto f = parse_fail_if(text);
    if (std::string_view(text) == "p9>5ms") {
      EXPECT_TRUE(f) << text;
      continue;
    }
    ASSERT_FALSE(f) << text << " was accepted";
    EXPECT_NE(f.error().message.find(want), std::string::npos) << text << ": " << f.error().message;
  }
}

TEST(BenchFailIf, ScopeWithoutScenariosOfThatClassIsAProblem) {
  const std::vector<MixEntry> healthy_only{MixEntry{"ok", 1, "/", true}};
  auto f = check_fail_if(parsed("faulty.p99>1s"), healthy_only);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message,
            "--fail-if 'faulty.p99>1s': the mix has no faulty scenario, so there is nothing to measure");
  EXPECT_TRUE(check_fail_if(parsed("healthy.p99>1s"), healthy_only));
  EXPECT_TRUE(check_fail_if(parsed("p99>1s"), healthy_only));
}

// Each condition's value, and whether it held, for the known samples.
FailIfOutcome judged(std::string_view text, const BenchResult& r) { return evaluate_fail_if({parsed(text)}, r)[0]; }

TEST(BenchFailIf, EachComparisonFailsInItsDirection) {
  const auto r = test::result_of(known_samples(), 2.0);
  // healthy p99 is 3 ms (3.0007 as reported: the top of its counter)
  EXPECT_TRUE(judged("healthy.p99>2ms", r).failed);
  EXPECT_FALSE(judged("healthy.p99>4ms", r).failed);
  EXPECT_TRUE(judged("healthy.p99<4ms", r).failed);
  EXPECT_FALSE(judged("healthy.p99<2ms", r).failed);
  EXPECT_TRUE(judged("healthy.max>=5ms", r).failed);  // exactly 5 ms
  EXPECT_FALSE(judged("healthy.max>5ms", r).failed);
  EXPECT_TRUE(judged("healthy.max<=5ms", r).failed);
  EXPECT_FALSE(judged("healthy.max<5ms", r).failed);
  // and each away from the edge, both ways
  EXPECT_TRUE(judged("healthy.max>=4ms", r).failed);
  EXPECT_FALSE(judged("healthy.max>=6ms", r).failed);
  EXPECT_TRUE(judged("healthy.max<=6ms", r).failed);
  EXPECT_FALSE(judged("healthy.max<=4ms", r).failed);
  EXPECT_NEAR(*judged("healthy.p99>2ms", r).value, 3.0, 0.003);
  EXPECT_NEAR(*judged("healthy.p99>2000us", r).value, 3000.0, 3);
  EXPECT_NEAR(*judged("healthy.p99>1s", r).value, 0.003, 0.000003);
  EXPECT_NEAR(*judged("healthy.p90>1s", r).value, 0.002, 0.000002);
  EXPECT_NEAR(*judged("healthy.p50>1s", r).value, 0.001, 0.000001);
  EXPECT_NEAR(*judged("healthy.p99.9>1s", r).value, 0.004, 0.000004);
  EXPECT_NEAR(*judged("faulty.p50>1s", r).value, 0.1, 0.0001);
  EXPECT_NEAR(*judged("p99>1ms", r).value, 200.0, 0.2);  // all 1100: rank 1089 is a 200 ms one
  EXPECT_EQ(*judged("healthy.min>0ms", r).value, 1.0);
  EXPECT_NEAR(*judged("healthy.mean>0ms", r).value, 1.115, 1e-9);
}

TEST(BenchFailIf, CountsRatesAndShares) {
  const auto r = test::result_of(known_samples(), 2.0);
  EXPECT_EQ(*judged("rps<600", r).value, 550.0);
  EXPECT_TRUE(judged("rps<600", r).failed);
  EXPECT_FALSE(judged("rps<500", r).failed);
  EXPECT_EQ(*judged("healthy.rps<1", r).value, 500.0);
  EXPECT_EQ(*judged("errors>0", r).value, 10.0);
  EXPECT_TRUE(judged("errors>0", r).failed);
  EXPECT_FALSE(judged("healthy.errors>0", r).failed);
  EXPECT_NEAR(*judged("errors%>1", r).value, 100.0 * 10 / 1110, 1e-9);
  EXPECT_FALSE(judged("errors%>1", r).failed);
  EXPECT_TRUE(judged("errors%>0.5", r).failed);
  EXPECT_EQ(*judged("status5xx>0", r).value, 100.0);
  EXPECT_EQ(*judged("status504>0", r).value, 100.0);
  EXPECT_EQ(*judged("status502>0", r).value, 0.0);
  EXPECT_FALSE(judged("status502>0", r).failed);
  EXPECT_EQ(*judged("status2xx<1", r).value, 1000.0);
  EXPECT_NEAR(*judged("faulty.responses%<100", r).value, 100.0 * 100 / 110, 1e-9);
  EXPECT_EQ(*judged("responses<1", r).value, 1100.0);
}

// A gate must not pass on nothing: a latency or share with no request in scope fails.
TEST(BenchFailIf, NothingMeasuredFails) {
  const auto r = test::result_of({}, 1.0);
  auto p99 = judged("p99>5ms", r);
  EXPECT_FALSE(p99.value);
  EXPECT_TRUE(p99.failed);
  EXPECT_TRUE(judged("errors%>1", r).failed);
  EXPECT_FALSE(judged("errors>0", r).failed);  // a count is 0, measured
  EXPECT_TRUE(judged("rps<1", r).failed);
}

TEST(BenchFailIf, ReportedInTheTableAndTheJson) {
  const auto o = test::two_entry_options();
  const auto r = test::result_of(known_samples(), 2.0);
  BenchVerdict v{evaluate_fail_if({parsed("healthy.p99>2ms"), parsed("errors>100"), parsed("rps<600")}, r), {}};
  EXPECT_TRUE(v.failed());
  const auto text = bench_to_text(o, r, v);
  const auto words = [&](const std::string& first) {
    std::istringstream in(line(text, first));
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  EXPECT_EQ(words("fail-if"), (std::vector<std::string>{"fail-if", "healthy.p99>2ms", "3.00ms", "FAILED"}));
  EXPECT_EQ(words("errors>100"), (std::vector<std::string>{"errors>100", "10", "ok"}));
  EXPECT_EQ(words("rps<600"), (std::vector<std::string>{"rps<600", "550.0", "FAILED"}));
  const auto doc = json::parse(bench_to_json(o, r, BenchTarget{}, v));
  const auto& f = doc.as_object().at("fail_if").as_array();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].as_object().at("condition").as_string(), "healthy.p99>2ms");
  EXPECT_NEAR(num(f[0].as_object(), "value"), 3.0, 0.003);
  EXPECT_EQ(f[0].as_object().at("unit").as_string(), "ms");
  EXPECT_EQ(num(f[0].as_object(), "threshold"), 2.0);
  EXPECT_TRUE(f[0].as_object().at("failed").as_bool());
  EXPECT_FALSE(f[1].as_object().at("failed").as_bool());
  EXPECT_EQ(num(f[2].as_object(), "value"), 550.0);
  const BenchVerdict passed{evaluate_fail_if({parsed("errors>100")}, r), {}};
  EXPECT_FALSE(passed.failed());
}

TEST(BenchWarnings, RateBelowNinetyFivePercentIsAWarning) {
  auto o = test::two_entry_options(5000);
  auto r = test::result_of({}, 10.0);
  r.sent = 35'940;  // 3594/s: 72 % of 5000
  auto w = bench_warnings(o, r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rfind("achieved 3594 requests/s, 72 % of --rate 5000: the load generator or the machine is the "
                       "bottleneck",
                       0),
            0u)
      << w[0];
  const auto text = bench_to_text(o, r, BenchVerdict{{}, w});
  EXPECT_NE(text.find("\n  warning: achieved 3594 requests/s, 72 %"), std::string::npos) << text;
  const auto doc = json::parse(bench_to_json(o, r, BenchTarget{}, BenchVerdict{{}, w}));
  EXPECT_EQ(doc.as_object().at("warnings").as_array().at(0).as_string(), w[0]);
  EXPECT_EQ(num(doc.as_object(), "achieved_rate"), 3594.0);
  EXPECT_EQ(doc.as_object().at("requests_sent").as_int64(), 35'940);

  r.sent = 47'600;  // 95.2 %: within what a schedule loses at its edges
  EXPECT_TRUE(bench_warnings(o, r).empty());
  r.sent = 47'400;  // 94.8 %
  EXPECT_EQ(bench_warnings(o, r).size(), 1u);
  o.rate = 0;  // closed loop: no rate was asked for
  EXPECT_TRUE(bench_warnings(o, r).empty());
}

}  // namespace
}  // namespace upfault
