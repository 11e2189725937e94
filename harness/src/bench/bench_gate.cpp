// Judging a bench run for CI: --fail-if conditions, and warnings about the measurement itself.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "base/util.hpp"
#include "upfault/bench.hpp"

namespace upfault {

namespace {

using Metric = FailIf::Metric;
using Scope = FailIf::Scope;

constexpr std::string_view kExample =
    "e.g. p99>5ms, healthy.p99.9>=20ms, rps<20000, errors>0, errors%>1, status5xx>0, wrong>0";

// A non-negative decimal number, the whole of `text`.
std::optional<double> number(std::string_view text) {
  double v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || p != end || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

// Nanoseconds per unit of a latency; 0 for an unknown unit.
double ns_per(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "µs") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  return 0;
}

bool is_latency(Metric m) {
  return m == Metric::percentile || m == Metric::max || m == Metric::mean || m == Metric::min;
}

// The metric part (after any scope): sets metric, percentile, status range and share.
Result<void> parse_metric(std::string_view m, FailIf& f) {
  if (!m.empty() && m.back() == '%') {
    f.share = true;
    m.remove_suffix(1);
  }
  if (m == "rps")
    f.metric = Metric::rps;
  else if (m == "responses")
    f.metric = Metric::responses;
  else if (m == "errors")
    f.metric = Metric::errors;
  else if (m == "wrong")
    f.metric = Metric::wrong;
  else if (m == "max")
    f.metric = Metric::max;
  else if (m == "mean")
    f.metric = Metric::mean;
  else if (m == "min")
    f.metric = Metric::min;
  else if (m.size() > 1 && m[0] == 'p' && number(m.substr(1)) && *number(m.substr(1)) <= 100) {
    f.metric = Metric::percentile;
    f.percentile = *number(m.substr(1));
  } else if (m.size() == 9 && m.substr(0, 6) == "status" && m[6] >= '1' && m[6] <= '5') {
    const auto tail = m.substr(7);
    const int hundreds = (m[6] - '0') * 100;
    f.metric = Metric::status;
    if (tail == "xx") {
      f.status_low = hundreds;
      f.status_high = hundreds + 99;
    } else if (std::isdigit(static_cast<unsigned char>(tail[0])) && std::isdigit(static_cast<unsigned char>(tail[1]))) {
      f.status_low = f.status_high = hundreds + (tail[0] - '0') * 10 + (tail[1] - '0');
    } else {
      return problem(fmt::format("\"{}\" is not a status: write status502 or status5xx", m));
    }
  } else {
    const auto near = did_you_mean(m, {"p50", "p90", "p99", "p99.9", "max", "mean", "min", "rps", "responses", "errors",
                                       "status5xx", "status4xx", "wrong"});
    return problem(
        fmt::format("unknown metric \"{}\"{} (the metrics: pN as p50 or p99.9, max, mean, min, rps, "
                    "responses, errors, statusNNN, statusNxx, wrong; a count followed by % is a share)",
                    m, near ? fmt::format(": did you mean \"{}\"?", *near) : ""));
  }
  if (f.share && (is_latency(f.metric) || f.metric == Metric::rps))
    return problem(fmt::format("only a count (responses, errors, statusNNN) can be a share (%), not \"{}\"", m));
  return {};
}

// The value after the comparison, with its unit.
Result<void> parse_threshold(std::string_view v, FailIf& f) {
  if (is_latency(f.metric)) {
    const auto digits = v.find_first_not_of("0123456789.");
    const auto unit = digits == std::string_view::npos ? std::string_view{} : v.substr(digits);
    if (unit.empty()) return problem("a latency needs a unit: 500us, 5ms or 1s");
    if (ns_per(unit) == 0) return problem(fmt::format("unknown unit \"{}\": ns, us, ms or s", unit));
    f.unit = std::string(unit == "µs" ? "us" : unit);
    v = v.substr(0, digits);
  } else if (!v.empty() && v.back() == '%') {
    if (f.metric == Metric::rps) return problem("rps is a rate, not a share: write rps<20000");
    f.share = true;
    v.remove_suffix(1);
  }
  if (f.share) f.unit = "%";
  const auto n = number(v);
  if (!n) return problem(fmt::format("\"{}\" is not a number (a non-negative decimal, such as 5 or 0.5)", v));
  f.threshold = *n;
  return {};
}

}  // namespace

std::string plain_number(double v) {
  return v == std::floor(v) && std::abs(v) < 1e15 ? fmt::format("{:.0f}", v) : fmt::format("{}", v);
}

Result<FailIf> parse_fail_if(std::string_view text) {
  FailIf f;
  for (char c : text)
    if (c != ' ' && c != '\t') f.text.push_back(c);
  const std::string_view t = f.text;
  const auto at = t.find_first_of("<>");
  if (at == std::string_view::npos)
    return problem(fmt::format("no comparison: write METRIC>VALUE or METRIC<VALUE (>= and <= too), {}", kExample));
  std::size_t len = 1;
  if (at + 1 < t.size() && t[at + 1] == '=') len = 2;
  f.op = t[at] == '>' ? (len == 2 ? FailIf::Op::greater_equal : FailIf::Op::greater)
                      : (len == 2 ? FailIf::Op::less_equal : FailIf::Op::less);
  std::string_view metric = t.substr(0, at), value = t.substr(at + len);
  if (value.find_first_of("<>=") != std::string_view::npos || metric.find('=') != std::string_view::npos)
    return problem("one comparison, of >, >=, < or <=, between a metric and a value");
  if (metric.empty()) return problem(fmt::format("no metric before the comparison, {}", kExample));
  if (value.empty()) return problem(fmt::format("no value after the comparison, {}", kExample));
  // A scope: healthy. or faulty. (a dot in p99.9 is a percentile's).
  if (const auto dot = metric.find('.');
      dot != std::string_view::npos && !(metric[0] == 'p' && number(metric.substr(1, dot - 1)))) {
    const auto scope = metric.substr(0, dot);
    if (scope == "healthy")
      f.scope = Scope::healthy;
    else if (scope == "faulty")
      f.scope = Scope::faulty;
    else if (scope == "all")
      f.scope = Scope::all;
    else {
      const auto near = did_you_mean(scope, {"healthy", "faulty", "all"});
      return problem(fmt::format("unknown scope \"{}\"{}: healthy., faulty. or none (all requests)", scope,
                                 near ? fmt::format(" (did you mean \"{}\"?)", *near) : ""));
    }
    metric = metric.substr(dot + 1);
  }
  if (auto m = parse_metric(metric, f); !m) return m.error();
  if (auto v = parse_threshold(value, f); !v) return v.error();
  return f;
}

Result<void> check_fail_if(const FailIf& f, const std::vector<MixEntry>& mix) {
  if (f.metric == Metric::wrong) {
    if (f.scope == Scope::healthy)
      return problem(fmt::format("--fail-if '{}': only the faulty share's answers are judged (wrong)", f.text));
    if (std::none_of(mix.begin(), mix.end(), [](const MixEntry& m) { return m.judged; }))
      return problem(fmt::format(
          "--fail-if '{}': the mix has no faulty scenario whose answers can be judged by status, so there is "
          "nothing to judge",
          f.text));
  }
  if (f.scope == Scope::all) return {};
  const bool want = f.scope == Scope::healthy;
  if (std::none_of(mix.begin(), mix.end(), [&](const MixEntry& m) { return m.healthy == want; }))
    return problem(fmt::format("--fail-if '{}': the mix has no {} scenario, so there is nothing to measure", f.text,
                               want ? "healthy" : "faulty"));
  return {};
}

std::vector<FailIfOutcome> evaluate_fail_if(const std::vector<FailIf>& conditions, const BenchResult& r) {
  std::vector<FailIfOutcome> out;
  for (const auto& f : conditions) {
    const BenchStats& s = f.scope == Scope::healthy ? r.healthy : f.scope == Scope::faulty ? r.faulty : r.total;
    const std::uint64_t requests = s.responses + s.errors_total();
    std::optional<double> v;
    const double unit = ns_per(f.unit);
    const bool any = s.responses > 0;
    switch (f.metric) {
      case Metric::percentile:
        if (any) v = static_cast<double>(s.latency.percentile(f.percentile)) / unit;
        break;
      case Metric::max:
        if (any) v = static_cast<double>(s.latency.max()) / unit;
        break;
      case Metric::mean:
        if (any) v = s.latency.mean() / unit;
        break;
      case Metric::min:
        if (any) v = static_cast<double>(s.latency.min()) / unit;
        break;
      case Metric::rps: v = r.seconds > 0 ? static_cast<double>(s.responses) / r.seconds : 0.0; break;
      case Metric::responses: v = static_cast<double>(s.responses); break;
      case Metric::errors: v = static_cast<double>(s.errors_total()); break;
      case Metric::wrong: v = static_cast<double>(s.wrong); break;
      case Metric::status: {
        std::uint64_t n = 0;
        for (auto [code, count] : s.status)
          if (code >= f.status_low && code <= f.status_high) n += count;
        v = static_cast<double>(n);
        break;
      }
    }
    if (f.share) v = v && requests ? std::optional<double>(*v * 100.0 / static_cast<double>(requests)) : std::nullopt;
    bool held = true;  // nothing measured: the condition fails, a gate must not pass on no data
    if (v) {
      switch (f.op) {
        case FailIf::Op::greater: held = *v > f.threshold; break;
        case FailIf::Op::greater_equal: held = *v >= f.threshold; break;
        case FailIf::Op::less: held = *v < f.threshold; break;
        case FailIf::Op::less_equal: held = *v <= f.threshold; break;
      }
    }
    out.push_back({f, v, held});
  }
  return out;
}

std::vector<std::string> bench_warnings(const BenchOptions& o, const BenchResult& r) {
  std::vector<std::string> out;
  const double achieved = r.achieved_rate();
  const double percent = o.rate > 0 ? 100.0 * achieved / o.rate : 0;
  if (o.rate > 0 && r.send_seconds > 0 && achieved < 0.95 * o.rate)
    out.push_back(fmt::format(
        "achieved {:.0f} requests/s, {} % of --rate {}: the load generator or the machine is the bottleneck "
        "(or too few --connections for the proxy's latency), so the proxy saw less load than asked for, and the "
        "latencies, counted from each request's intended send time, include time spent waiting to be sent",
        achieved, percent >= 10 ? fmt::format("{:.0f}", percent) : fmt::format("{:.2g}", percent),
        plain_number(o.rate)));
  if (r.interrupted)
    out.push_back(fmt::format("stopped by {} after {:.1f} s of measurement: not the whole run that was asked for",
                              strsignal(r.interrupted), r.seconds));
  return out;
}

bool BenchVerdict::failed() const {
  return std::any_of(fail_if.begin(), fail_if.end(), [](const FailIfOutcome& f) { return f.failed; });
}

}  // namespace upfault
