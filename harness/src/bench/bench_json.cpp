// `upfault bench`'s JSON report (documented in docs/bench.md).
#include "bench/bench_report.hpp"

namespace upfault {

namespace json = boost::json;

namespace bench_report {

namespace {
double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }
// A sum of whole nanoseconds: exact while it fits 64 bits (so that merged means are exact too).
json::value sum_json(long double sum) {
  if (sum >= 0 && sum < 18e18L) return static_cast<std::uint64_t>(sum);
  return static_cast<double>(sum);
}
}  // namespace

json::object stats_json(const BenchStats& s, double rps) {
  json::object o;
  o["responses"] = s.responses;
  o["requests_per_second"] = rps;
  const auto& h = s.latency;
  json::object lat;
  lat["p50"] = ms(h.percentile(50));
  lat["p90"] = ms(h.percentile(90));
  lat["p99"] = ms(h.percentile(99));
  lat["p99.9"] = ms(h.percentile(99.9));
  lat["max"] = ms(h.max());
  lat["mean"] = h.mean() / 1e6;
  lat["min"] = ms(h.min());
  o["latency_ms"] = std::move(lat);
  o["histogram"] = json::object{{"unit", "ns"},      {"count", h.count()},          {"min_ns", h.min()},
                                {"max_ns", h.max()}, {"sum_ns", sum_json(h.sum())}, {"hdr", hdr_to_base64(h)}};
  json::object status;
  for (auto [code, n] : s.status) status[std::to_string(code)] = n;
  o["status"] = std::move(status);
  json::object errors;
  for (std::size_t i = 0; i < kBenchErrorKinds; ++i) errors[to_string(static_cast<BenchError>(i))] = s.errors[i];
  o["errors"] = std::move(errors);
  o["errors_total"] = s.errors_total();
  o["wrong"] = s.wrong;
  if (!s.other_errors.empty()) {
    json::object other;
    for (const auto& [msg, n] : s.other_errors) other[msg] = n;
    o["other_errors"] = std::move(other);
  }
  return o;
}

namespace {

// One class in one second: counts, p99 and max (null when nothing completed), the histogram.
json::object slice_json(const BenchSlice& s) {
  json::object o{{"responses", s.responses}, {"errors", s.errors}};
  if (s.responses == 0) {
    o["latency_ms"] = nullptr;
    return o;
  }
  const Histogram h = s.latency();
  o["latency_ms"] = json::object{{"p99", ms(h.percentile(99))}, {"max", ms(h.max())}};
  o["histogram"] = hdr_to_base64(h);
  return o;
}

}  // namespace

json::array series_json(const std::vector<BenchSecond>& series, bool split) {
  json::array out;
  for (std::size_t i = 0; i < series.size(); ++i) {
    json::object o{{"second", i}};
    for (auto& [k, v] : slice_json(series[i].all())) o[k] = std::move(v);
    if (split) {
      o["healthy"] = slice_json(series[i].healthy);
      o["faulty"] = slice_json(series[i].faulty);
    }
    out.push_back(std::move(o));
  }
  return out;
}

json::array fail_if_json(const std::vector<FailIfOutcome>& outcomes) {
  json::array out;
  for (const auto& f : outcomes) {
    json::object o{{"condition", f.condition.text}};
    if (f.value)
      o["value"] = *f.value;
    else
      o["value"] = nullptr;
    o["unit"] = f.condition.unit;
    o["threshold"] = f.condition.threshold;
    o["failed"] = f.failed;
    out.push_back(std::move(o));
  }
  return out;
}

json::array strings_json(const std::vector<std::string>& texts) {
  json::array out;
  for (const auto& t : texts) out.emplace_back(t);
  return out;
}

json::object report_json(const BenchOptions& o, const BenchResult& r, const BenchTarget& t, const BenchVerdict& v) {
  auto rps = [&](const BenchStats& s) { return r.seconds > 0 ? static_cast<double>(s.responses) / r.seconds : 0.0; };
  json::object doc = stats_json(r.total, rps(r.total));  // the headline figures at the top level
  doc["schema"] = kSchema;
  json::object target;
  target["url"] = t.url;
  if (!t.proxy.empty()) {
    target["proxy"] = t.proxy;
    target["proxy_version"] = t.proxy_version;
  }
  doc["target"] = std::move(target);
  doc["mode"] = o.rate > 0 ? "constant-rate" : "closed-loop";
  if (o.rate > 0) doc["rate"] = o.rate;
  doc["connections"] = o.connections;
  doc["threads"] = o.threads;
  doc["started_at"] = r.started_at;
  doc["seconds"] = r.seconds;
  doc["warmup_seconds"] = static_cast<double>(o.warmup.count()) / 1000.0;
  doc["timeout_seconds"] = static_cast<double>(o.timeout.count()) / 1000.0;
  doc["requests_sent"] = r.sent;
  doc["achieved_rate"] = r.achieved_rate();
  doc["connects"] = r.connects;
  doc["in_flight_at_end"] = r.in_flight_at_end;
  doc["side_connections"] = r.side_connections;
  doc["side_exhausted"] = r.side_exhausted;
  doc["healthy"] = stats_json(r.healthy, rps(r.healthy));
  doc["faulty"] = stats_json(r.faulty, rps(r.faulty));
  json::array mix;
  for (std::size_t i = 0; i < o.mix.size(); ++i) {
    auto e = stats_json(r.per_entry[i], rps(r.per_entry[i]));
    e["name"] = o.mix[i].name;
    e["weight"] = o.mix[i].weight;
    e["target"] = o.mix[i].target;
    e["healthy"] = o.mix[i].healthy;
    if (!o.mix[i].protocol.empty()) e["protocol"] = o.mix[i].protocol;
    if (o.mix[i].judged) e["accepts"] = json::value_from(o.mix[i].accepts);
    mix.push_back(std::move(e));
  }
  doc["mix"] = std::move(mix);
  json::object by_protocol;  // the mix's entries added up per upstream protocol
  for (const auto& [protocol, stats] : stats_by_protocol(o, r)) by_protocol[protocol] = stats_json(stats, rps(stats));
  if (!by_protocol.empty()) doc["by_protocol"] = std::move(by_protocol);
  const bool split = std::any_of(o.mix.begin(), o.mix.end(), [](const MixEntry& m) { return m.healthy; }) &&
                     std::any_of(o.mix.begin(), o.mix.end(), [](const MixEntry& m) { return !m.healthy; });
  doc["series"] = series_json(r.series, split);
  doc["fail_if"] = fail_if_json(v.fail_if);
  doc["warnings"] = strings_json(v.warnings);
  // A run cut short by a signal says so, so that upfault merge never takes it for a whole one.
  if (r.interrupted) doc["interrupted"] = r.interrupted;
  return doc;
}

}  // namespace bench_report

std::string bench_to_json(const BenchOptions& o, const BenchResult& r, const BenchTarget& t, const BenchVerdict& v) {
  return json::serialize(bench_report::report_json(o, r, t, v)) + "\n";
}

}  // namespace upfault
