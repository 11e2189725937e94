// merge_bench_reports: reports of several load generators as one. Two reports made from known
// sample sets must merge into the report of a single run over the union of the samples — the same
// percentiles, histograms and per-second series — and reports that do not belong together, or are
// damaged, are refused with the reason.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <csignal>
#include <functional>
#include <random>

#include "bench_report_support.hpp"
#include "upfault/bench.hpp"

namespace upfault {
namespace {

namespace json = boost::json;
using test::Sample;

const BenchTarget kTarget{"http://127.0.0.1:8080", "nginx", "1.22.1"};

// Samples over 4 seconds: log-normal latencies, some faulty, some errors, various statuses.
std::vector<Sample> random_samples(unsigned seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> latency(14.0, 1.5);  // ~1 ms, a long tail
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<Sample> out;
  for (std::size_t i = 0; i < n; ++i) {
    Sample s;
    s.second = i * 4 / n;
    s.healthy = pick(rng) < 90;
    s.latency_ns = static_cast<std::uint64_t>(latency(rng));
    const int p = pick(rng);
    s.status = p < 2 ? 0 : p < 5 ? 502 : 200;
    out.push_back(s);
  }
  return out;
}

// The report of `generators` load generators' worth of options (8 connections, 1 thread each).
std::string report(const std::vector<Sample>& samples, unsigned generators = 1, double rate = 0) {
  auto o = test::two_entry_options(rate);
  o.connections = 8 * generators;
  o.threads = generators;
  return bench_to_json(o, test::result_of(samples, 4.0), kTarget);
}

json::value parse(const std::string& text) { return json::parse(text); }

TEST(BenchMerge, TwoReportsMergeIntoTheReportOfTheUnionOfTheirSamples) {
  const auto a = random_samples(1, 30'000), b = random_samples(2, 20'000);
  std::vector<Sample> both = a;
  both.insert(both.end(), b.begin(), b.end());
  auto merged = merge_bench_reports({report(a), report(b)});
  ASSERT_TRUE(merged) << merged.error();
  auto got = parse(*merged);
  ASSERT_TRUE(got.as_object().contains("merged_from"));
  EXPECT_EQ(got.as_object()["merged_from"].as_array().size(), 2u);
  got.as_object().erase("merged_from");
  // One run with both generators' connections over the union: every figure equal, the histograms
  // and the per-second series included (rates add up: both ran the same 4 s).
  const auto want = parse(report(both, 2));
  for (const auto& [key, value] : want.as_object())
    EXPECT_EQ(got.as_object().at(key), value)
        << key << ":\n got  " << json::serialize(got.as_object().at(key)) << "\n want " << json::serialize(value);
  EXPECT_EQ(got.as_object().size(), want.as_object().size());
}

TEST(BenchMerge, PercentilesAreThoseOfTheUnionNotAnAverage) {
  // One generator saw only fast responses, the other only slow ones: the merged p50 is neither's p50.
  std::vector<Sample> fast, slow;
  test::add(fast, 900, 1'000'000);
  test::add(slow, 100, 1'000'000'000);
  auto merged = merge_bench_reports({report(fast), report(slow)});
  ASSERT_TRUE(merged) << merged.error();
  const auto doc = parse(*merged);
  const auto& lat = doc.as_object().at("healthy").as_object().at("latency_ms").as_object();
  EXPECT_NEAR(lat.at("p50").to_number<double>(), 1.0, 0.001);
  EXPECT_NEAR(lat.at("p90").to_number<double>(), 1.0, 0.001);
  EXPECT_NEAR(lat.at("p99").to_number<double>(), 1000.0, 1.0);
  EXPECT_EQ(lat.at("max").to_number<double>(), 1000.0);
  EXPECT_NEAR(lat.at("mean").to_number<double>(), (900 * 1.0 + 100 * 1000.0) / 1000, 1e-9);
}

// Sums of nanoseconds past 2^53 (a double's whole numbers) still merge exactly: the mean, and so
// the merged report, is the union's to the last digit.
TEST(BenchMerge, SumsPastADoublesPrecisionStayExact) {
  std::vector<Sample> a, b;
  test::add(a, 9, (std::uint64_t{1} << 53) + 1);
  test::add(b, 7, (std::uint64_t{1} << 53) + 3);
  std::vector<Sample> both = a;
  both.insert(both.end(), b.begin(), b.end());
  auto merged = merge_bench_reports({report(a), report(b)});
  ASSERT_TRUE(merged) << merged.error();
  auto got = parse(*merged);
  const auto want = parse(report(both, 2));
  EXPECT_EQ(got.as_object()["histogram"], want.as_object().at("histogram"));
  EXPECT_EQ(got.as_object()["histogram"].as_object()["sum_ns"].to_number<std::uint64_t>(),
            9 * ((std::uint64_t{1} << 53) + 1) + 7 * ((std::uint64_t{1} << 53) + 3));
  EXPECT_EQ(got.as_object()["latency_ms"], want.as_object().at("latency_ms"));
}

TEST(BenchMerge, CountsRatesAndSeriesAreSummed) {
  std::vector<Sample> a, b;
  test::add(a, 10, 1'000'000, 0);
  test::add(a, 5, 2'000'000, 2);
  test::add(b, 7, 3'000'000, 0);
  test::add(b, 3, 0, 1, true, 0);  // errors
  test::add(b, 2, 4'000'000, 3, false, 504);
  auto merged = merge_bench_reports({report(a, 1, 100), report(b, 2, 50)});
  ASSERT_TRUE(merged) << merged.error();
  const auto doc = parse(*merged);
  const auto& d = doc.as_object();
  EXPECT_EQ(d.at("responses").as_int64(), 24);
  EXPECT_EQ(d.at("requests_per_second").to_number<double>(), 24 / 4.0);
  EXPECT_EQ(d.at("connections").as_int64(), 24);
  EXPECT_EQ(d.at("threads").as_int64(), 3);
  EXPECT_EQ(d.at("rate").to_number<double>(), 150.0);
  EXPECT_EQ(d.at("requests_sent").as_int64(), 27);
  EXPECT_EQ(d.at("errors_total").as_int64(), 3);
  EXPECT_EQ(d.at("status").as_object().at("200").as_int64(), 22);
  EXPECT_EQ(d.at("status").as_object().at("504").as_int64(), 2);
  EXPECT_EQ(d.at("faulty").as_object().at("responses").as_int64(), 2);
  const auto& series = d.at("series").as_array();
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0].as_object().at("responses").as_int64(), 17);
  EXPECT_EQ(series[1].as_object().at("errors").as_int64(), 3);
  EXPECT_EQ(series[2].as_object().at("responses").as_int64(), 5);
  EXPECT_EQ(series[3].as_object().at("faulty").as_object().at("responses").as_int64(), 2);
  EXPECT_NEAR(series[0].as_object().at("latency_ms").as_object().at("p99").to_number<double>(), 3.0, 0.003);
  EXPECT_EQ(series[0].as_object().at("latency_ms").as_object().at("max").to_number<double>(), 3.0);
  EXPECT_EQ(d.at("fail_if").as_array().size(), 0u);
}

TEST(BenchMerge, AMergedReportMergesAgain) {
  const auto a = random_samples(3, 5'000), b = random_samples(4, 5'000), c = random_samples(5, 5'000);
  auto ab = merge_bench_reports({report(a), report(b)});
  ASSERT_TRUE(ab) << ab.error();
  auto ab_c = merge_bench_reports({*ab, report(c)});
  auto abc = merge_bench_reports({report(a), report(b), report(c)});
  ASSERT_TRUE(ab_c) << ab_c.error();
  ASSERT_TRUE(abc) << abc.error();
  auto x = parse(*ab_c), y = parse(*abc);
  x.as_object().erase("merged_from");
  y.as_object().erase("merged_from");
  EXPECT_EQ(x, y);
}

TEST(BenchMerge, WarningsOfEachReportAreKeptAndStartsApartAreOne) {
  auto o = test::two_entry_options(5000);
  auto r = test::result_of(random_samples(6, 100), 4.0);
  const std::string first = bench_to_json(o, r, kTarget, BenchVerdict{{}, {"achieved 3594 requests/s"}});
  r.started_at += 30;
  const std::string late = bench_to_json(o, r, kTarget);
  auto merged = merge_bench_reports({first, late});
  ASSERT_TRUE(merged) << merged.error();
  const auto doc = parse(*merged);
  const auto& w = doc.as_object().at("warnings").as_array();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].as_string(), "report 1: achieved 3594 requests/s");
  EXPECT_EQ(std::string_view(w[1].as_string()).rfind("report 2 started 30.0 s apart from report 1", 0), 0u)
      << w[1].as_string();
}

// Edits a report's JSON.
std::string edited(const std::string& text, const std::function<void(json::object&)>& edit) {
  auto v = parse(text);
  edit(v.as_object());
  return json::serialize(v);
}

void expect_refused(const std::vector<std::string>& reports, std::string_view want) {
  auto merged = merge_bench_reports(reports);
  ASSERT_FALSE(merged) << "merged, but should be refused with: " << want;
  EXPECT_NE(merged.error().message.find(want), std::string::npos) << merged.error().message;
}

TEST(BenchMerge, RefusesReportsThatDoNotBelongTogether) {
  const auto a = report(random_samples(7, 1000));
  expect_refused({}, "no reports to merge");
  expect_refused({a, edited(a, [](json::object& d) { d["schema"] = "upfault-bench/2"; })},
                 "report 2: schema upfault-bench/2, not upfault-bench/1");
  expect_refused({a, edited(a, [](json::object& d) { d["schema"] = "upfault-run/1"; })},
                 "report 2: schema upfault-run/1");
  expect_refused({a, edited(a, [](json::object& d) { d.erase("schema"); })}, "report 2: not an upfault bench report");
  expect_refused({a, edited(a, [](json::object& d) { d["target"].as_object()["proxy"] = "envoy"; })},
                 "report 2 measured envoy 1.22.1, report 1 nginx 1.22.1: only reports of one target merge");
  expect_refused({a, edited(a, [](json::object& d) { d["target"].as_object()["proxy_version"] = "1.25.0"; })},
                 "report 2 measured nginx 1.25.0");
  expect_refused({a, edited(a,
                            [](json::object& d) {
                              d["mode"] = "constant-rate";
                              d["rate"] = 10;
                            })},
                 "report 2 ran constant-rate, report 1 closed-loop");
  expect_refused({a, edited(a, [](json::object& d) { d["mix"].as_array()[1].as_object()["weight"] = 2; })},
                 "report 2's mix (ok=9 (/__upfault/ok/), silent=2 (/__upfault/silent/, faulty)) is not report 1's");
  expect_refused({a, edited(a, [](json::object& d) { d["mix"].as_array().pop_back(); })}, "report 2's mix");
}

TEST(BenchMerge, RefusesReportsWithoutHistograms) {
  const auto a = report(random_samples(8, 1000));
  expect_refused({a, edited(a, [](json::object& d) { d.erase("histogram"); })},
                 "report 2: histogram is missing: the report has no latency histogram");
  expect_refused({a, edited(a, [](json::object& d) { d["faulty"].as_object().erase("histogram"); })},
                 "report 2: faulty.histogram is missing");
  expect_refused({a, edited(a, [](json::object& d) { d["mix"].as_array()[0].as_object().erase("histogram"); })},
                 "report 2: mix[0].histogram is missing");
  expect_refused({a, edited(a,
                            [](json::object& d) {
                              d["series"].as_array()[1].as_object()["healthy"].as_object().erase("histogram");
                            })},
                 "report 2: series[1].healthy.histogram is missing");
  expect_refused({a, edited(a, [](json::object& d) { d.erase("series"); })}, "report 2: series is missing");
}

TEST(BenchMerge, RefusesDamagedReports) {
  const auto a = report(random_samples(9, 1000));
  expect_refused({a, "{"}, "report 2: not JSON");
  expect_refused({a, "[1, 2]"}, "report 2: not an upfault bench report (not a JSON object)");
  expect_refused({std::string(100'000, '[') + std::string(100'000, ']'), a}, "report 1: not JSON");
  expect_refused({a, std::string((64 << 20) + 1, ' ')}, "report 2: larger than 64 MiB");
  const auto set_hdr = [&](std::string hdr) {
    return edited(a, [hdr](json::object& d) { d["histogram"].as_object()["hdr"] = hdr; });
  };
  expect_refused({a, set_hdr("HISTFAAAAA==")}, "report 2: histogram.hdr cannot be read");
  expect_refused({a, set_hdr("not base64!")}, "report 2: histogram.hdr cannot be read: not base64");
  // Another block's histogram: it counts another number of samples.
  const auto faulty_hdr =
      std::string(parse(a).as_object().at("faulty").as_object().at("histogram").as_object().at("hdr").as_string());
  expect_refused({a, set_hdr(faulty_hdr)}, "report 2: histogram.hdr counts");
  expect_refused({a, edited(a, [](json::object& d) { d["histogram"].as_object()["max_ns"] = 1; })},
                 "report 2: histogram has a min_ns, max_ns or sum_ns its counters cannot have");
  expect_refused({a, edited(a, [](json::object& d) { d["responses"] = -1; })}, "report 2: responses is not a count");
  expect_refused({a, edited(a,
                            [](json::object& d) {
                              auto& h = d["histogram"].as_object();
                              h["count"] = h["count"].to_number<std::int64_t>() + 1;
                            })},
                 "report 2: histogram.count is not the block's");
  expect_refused({a, edited(a, [](json::object& d) { d["status"].as_object()["2000"] = 1; })},
                 "report 2: status has \"2000\", which is not a status code");
  expect_refused({a, edited(a, [](json::object& d) { d["errors"].as_object()["cosmic_ray"] = 1; })},
                 "report 2: errors has error kinds this upfault does not know");
  expect_refused({a, edited(a, [](json::object& d) { d["series"].as_array()[2].as_object()["second"] = 7; })},
                 "report 2: series[2].second is out of order");
  expect_refused({a, edited(a,
                            [](json::object& d) {
                              d["series"].as_array()[0].as_object()["healthy"].as_object()["responses"] = 1;
                            })},
                 "report 2: series[0].healthy.histogram does not match its responses or its max");
}

// Numbers out of their range are refused with the field named, never clamped, wrapped or summed:
// 2^64-1 connections merged with 8 once gave 7; negative seconds and rates were added up.
TEST(BenchMerge, NumbersOutOfRangeAreRefusedNotWrapped) {
  const auto a = report(random_samples(12, 200));
  const auto set = [&](std::string key, json::value v) { return edited(a, [key, v](json::object& d) { d[key] = v; }); };
  expect_refused({a, set("connections", json::value(UINT64_MAX))},
                 "report 2: connections is 18446744073709551615, over");
  expect_refused({a, set("connections", json::value(-8))}, "report 2: connections is not a count");
  expect_refused({a, set("threads", json::value(1.5))}, "report 2: threads is not a count");
  expect_refused({a, set("seconds", json::value(-4.0))}, "report 2: seconds is -4, not a number from 0");
  expect_refused({a, set("requests_per_second", json::value(-1.0))}, "report 2: requests_per_second is -1");
  expect_refused({a, set("requests_sent", json::value(1e300))}, "report 2: requests_sent is not a count");
  expect_refused({a, edited(a, [](json::object& d) { d["healthy"].as_object()["requests_per_second"] = -3; })},
                 "report 2: healthy.requests_per_second is -3");
  // Each below 2^32, together over it: refused rather than wrapped.
  const auto big = set("connections", json::value(std::uint64_t{UINT32_MAX} - 4));
  expect_refused({big, a}, "the connections or threads of the reports add up to more than 4294967295");
}

// A report of a run stopped by a signal says so; merge refuses it, or with --partial marks the
// merged report interrupted and warns which input was.
TEST(BenchMerge, AnInterruptedRunIsMarkedAndNotMergedAsWhole) {
  auto o = test::two_entry_options();
  auto r = test::result_of(random_samples(13, 200), 4.0);
  r.interrupted = SIGINT;
  const auto stopped = bench_to_json(o, r, kTarget, BenchVerdict{{}, bench_warnings(o, r)});
  const auto doc = parse(stopped).as_object();
  ASSERT_TRUE(doc.contains("interrupted"));
  EXPECT_EQ(doc.at("interrupted").as_int64(), SIGINT);
  EXPECT_NE(json::serialize(doc.at("warnings")).find("stopped by"), std::string::npos) << doc.at("warnings");
  const auto whole = report(random_samples(14, 200));
  EXPECT_FALSE(parse(whole).as_object().contains("interrupted"));
  expect_refused({whole, stopped}, "report 2 is of a run stopped by");
  expect_refused({stopped}, "report 1 is of a run stopped by");
  auto partial = merge_bench_reports({whole, stopped}, /*partial=*/true);
  ASSERT_TRUE(partial) << partial.error();
  const auto merged = parse(*partial).as_object();
  EXPECT_EQ(merged.at("interrupted").as_int64(), SIGINT);
  EXPECT_NE(json::serialize(merged.at("warnings")).find("report 2 was of a run stopped by a signal"),
            std::string::npos);
}

// Whatever bytes a report holds, merging returns a report or a Problem, never a crash.
TEST(BenchMerge, DamagedBytesNeverCrash) {
  const auto a = report(random_samples(10, 200));
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    std::string b = a;
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    (void)merge_bench_reports({a, b});
    (void)merge_bench_reports({b.substr(0, rng() % b.size())});
  }
  // Valid JSON, damaged histograms: base64 letters changed for others inside the "HISTF…" texts.
  const std::string_view letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::size_t> starts;
  for (auto at = a.find("HISTF"); at != std::string::npos; at = a.find("HISTF", at + 1)) starts.push_back(at);
  ASSERT_GT(starts.size(), 10u);
  int merged = 0;
  for (int i = 0; i < 300; ++i) {
    std::string b = a;
    const std::size_t at = starts[rng() % starts.size()] + 5 + rng() % 60;
    if (letters.find(b[at]) == std::string_view::npos) continue;
    b[at] = letters[rng() % letters.size()];
    merged += merge_bench_reports({a, b}).has_value();
  }
  EXPECT_LT(merged, 300);  // most are refused; the rest changed a count the checks cannot tell
}

}  // namespace
}  // namespace upfault

namespace upfault {
namespace {

// A mix over two upstream protocols: "ok" over HTTP/1.1 (healthy), "silent" over h2c (faulty).
BenchOptions two_protocol_options() {
  auto o = test::two_entry_options();
  o.mix[0].protocol = "http/1.1";
  o.mix[1].protocol = "h2c";
  return o;
}

std::string two_protocol_report(const std::vector<Sample>& samples) {
  return bench_to_json(two_protocol_options(), test::result_of(samples, 4.0), kTarget);
}

}  // namespace

// --mix over several upstream protocols is reported apart per protocol: `over PROTOCOL` rows in
// the text, `by_protocol` in the JSON, each entry's `protocol`; a merge adds them up, and reads a
// protocol it does not know as damage.
TEST(BenchByProtocol, EachProtocolsEntriesAreAddedUpApart) {
  std::vector<Sample> s;
  test::add(s, 9, 1'000'000, 0);              // ok (http/1.1): 9 × 200
  test::add(s, 3, 2'000'000, 1, false, 504);  // silent (h2c): 3 × 504
  test::add(s, 2, 0, 2, false, 0);            // silent (h2c): 2 errors
  const auto o = two_protocol_options();
  const auto r = test::result_of(s, 4.0);
  const auto groups = stats_by_protocol(o, r);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].first, "http/1.1");
  EXPECT_EQ(groups[0].second.responses, 9u);
  EXPECT_EQ(groups[1].first, "h2c");
  EXPECT_EQ(groups[1].second.responses, 3u);
  EXPECT_EQ(groups[1].second.errors_total(), 2u);
  const auto text = bench_to_text(o, r, {});
  EXPECT_NE(text.find("over http/1.1"), std::string::npos) << text;
  EXPECT_NE(text.find("over h2c"), std::string::npos) << text;
  EXPECT_EQ(bench_to_text(test::two_entry_options(), r, {}).find("over "), std::string::npos)
      << "no protocol rows without protocols";
  // A long scenario name widens the labels' column: every row's responses end under the header's.
  auto long_named = o;
  long_named.mix[1].name = "a-scenario-name-longer-than-the-column";
  const auto wide = bench_to_text(long_named, r, {});
  const auto header = wide.substr(1, wide.find('\n', 1) - 1);  // after the leading newline
  const auto end = header.find("responses") + 9;
  for (const std::string label : {"  all ", "    ok ", "    a-scenario-name-longer-than-the-column ", "  over h2c "}) {
    const auto at = wide.find(label);
    ASSERT_NE(at, std::string::npos) << label << "\n" << wide;
    const auto line = wide.substr(at, wide.find('\n', at) - at);
    ASSERT_GT(line.size(), end) << wide;
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(line[end - 1])) && line[end] == ' ')
        << "'" << label << "' row out of line:\n"
        << wide;
  }
  const auto doc = parse(bench_to_json(o, r, kTarget));
  const auto& by = doc.as_object().at("by_protocol").as_object();
  EXPECT_EQ(by.at("h2c").as_object().at("responses").as_int64(), 3);
  EXPECT_EQ(by.at("h2c").as_object().at("errors_total").as_int64(), 2);
  EXPECT_EQ(by.at("http/1.1").as_object().at("requests_per_second").to_number<double>(), 9 / 4.0);
  EXPECT_EQ(doc.as_object().at("mix").as_array()[1].as_object().at("protocol").as_string(), "h2c");

  auto merged = merge_bench_reports({two_protocol_report(s), two_protocol_report(s)});
  ASSERT_TRUE(merged) << merged.error();
  const auto m = parse(*merged);
  const auto& mby = m.as_object().at("by_protocol").as_object();
  EXPECT_EQ(mby.at("h2c").as_object().at("responses").as_int64(), 6);
  EXPECT_EQ(mby.at("h2c").as_object().at("requests_per_second").to_number<double>(), 2 * 3 / 4.0);
  EXPECT_EQ(mby.at("http/1.1").as_object().at("requests_per_second").to_number<double>(), 2 * 9 / 4.0);

  const auto a = two_protocol_report(s);
  expect_refused({a, edited(a, [](json::object& d) { d["mix"].as_array()[1].as_object()["protocol"] = "h3"; })},
                 "report 2: mix[1].protocol is not one of");
  expect_refused({a, edited(a, [](json::object& d) { d["mix"].as_array()[1].as_object()["protocol"] = 7; })},
                 "report 2: mix[1].protocol is not one of");
  expect_refused({a, report(s)}, "report 2's mix");  // the same names over other protocols
}

}  // namespace upfault
