// `upfault bench`'s JSON report (documented in docs/bench.md).
#include <boost/json.hpp>

#include "upfault/bench.hpp"

namespace upfault {

namespace {

namespace json = boost::json;

json::object stats_json(const BenchStats& s, double seconds) {
  json::object o;
  o["responses"] = s.responses;
  o["requests_per_second"] = seconds > 0 ? static_cast<double>(s.responses) / seconds : 0.0;
  auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  json::object lat;
  lat["p50"] = ms(s.latency.percentile(50));
  lat["p90"] = ms(s.latency.percentile(90));
  lat["p99"] = ms(s.latency.percentile(99));
  lat["p99.9"] = ms(s.latency.percentile(99.9));
  lat["max"] = ms(s.latency.max());
  lat["mean"] = s.latency.mean() / 1e6;
  o["latency_ms"] = std::move(lat);
  json::object status;
  for (auto [code, n] : s.status) status[std::to_string(code)] = n;
  o["status"] = std::move(status);
  json::object errors;
  for (std::size_t i = 0; i < kBenchErrorKinds; ++i) errors[to_string(static_cast<BenchError>(i))] = s.errors[i];
  o["errors"] = std::move(errors);
  o["errors_total"] = s.errors_total();
  if (!s.other_errors.empty()) {
    json::object other;
    for (const auto& [msg, n] : s.other_errors) other[msg] = n;
    o["other_errors"] = std::move(other);
  }
  return o;
}

}  // namespace

std::string bench_to_json(const BenchOptions& o, const BenchResult& r, const BenchTarget& t) {
  json::object doc = stats_json(r.total, r.seconds);  // the headline figures at the top level
  doc["schema"] = "upfault-bench/1";
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
  doc["seconds"] = r.seconds;
  doc["warmup_seconds"] = static_cast<double>(o.warmup.count()) / 1000.0;
  doc["timeout_seconds"] = static_cast<double>(o.timeout.count()) / 1000.0;
  doc["connects"] = r.connects;
  doc["in_flight_at_end"] = r.in_flight_at_end;
  doc["side_connections"] = r.side_connections;
  doc["side_exhausted"] = r.side_exhausted;
  doc["healthy"] = stats_json(r.healthy, r.seconds);
  doc["faulty"] = stats_json(r.faulty, r.seconds);
  json::array mix;
  for (std::size_t i = 0; i < o.mix.size(); ++i) {
    auto e = stats_json(r.per_entry[i], r.seconds);
    e["name"] = o.mix[i].name;
    e["weight"] = o.mix[i].weight;
    e["target"] = o.mix[i].target;
    e["healthy"] = o.mix[i].healthy;
    mix.push_back(std::move(e));
  }
  doc["mix"] = std::move(mix);
  return json::serialize(doc) + "\n";
}

}  // namespace upfault
