// `upfault bench`'s console report: the table, the counts, the --fail-if conditions, the warnings.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "upfault/bench.hpp"

namespace upfault {

namespace {

std::string ms(std::uint64_t ns) {
  const double v = static_cast<double>(ns) / 1e6;
  if (v >= 999.5) return fmt::format("{:.2f}s", v / 1000);  // never "1000ms"
  if (v >= 100) return fmt::format("{:.0f}ms", v);
  if (v >= 10) return fmt::format("{:.1f}ms", v);
  return fmt::format("{:.2f}ms", v);
}

// One row of the table; `width`: the labels' column, as wide as the longest label.
void row(std::string& out, std::size_t width, const std::string& label, const BenchStats& s, double seconds) {
  const auto& h = s.latency;
  out += fmt::format("  {:<{}} {:>10} {:>11.1f} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n", label, width, s.responses,
                     seconds > 0 ? static_cast<double>(s.responses) / seconds : 0.0, ms(h.percentile(50)),
                     ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()), s.errors_total());
}

void counts(std::string& out, const BenchStats& s) {
  std::string status;
  for (auto [code, n] : s.status) status += fmt::format("{}{} × {}", status.empty() ? "" : ", ", code, n);
  out += fmt::format("  status   {}\n", status.empty() ? "none" : status);
  std::string errors;
  for (std::size_t i = 0; i < kBenchErrorKinds; ++i)
    if (s.errors[i])
      errors +=
          fmt::format("{}{} × {}", errors.empty() ? "" : ", ", to_string(static_cast<BenchError>(i)), s.errors[i]);
  out += fmt::format("  errors   {}\n", errors.empty() ? "none" : errors);
  for (const auto& [msg, n] : s.other_errors) out += fmt::format("           other: {} × {}\n", msg, n);
}

// The range of the per-second figures, so that a stall shows with the second it happened in.
void seconds_line(std::string& out, const BenchOptions& o, const BenchResult& r) {
  // A last second cut short (a --requests run, an interrupted one) would pass for a slow one.
  std::size_t whole = r.series.size();
  if (whole > 1 && static_cast<double>(whole) > r.seconds + 1e-3) --whole;
  if (whole < 2) return;
  // With a faulty share, the healthy requests' p99 is the one a stall changes (the faulty share's
  // timeouts set the p99 of all).
  const bool split = std::any_of(o.mix.begin(), o.mix.end(), [](const MixEntry& m) { return m.healthy; }) &&
                     std::any_of(o.mix.begin(), o.mix.end(), [](const MixEntry& m) { return !m.healthy; });
  std::size_t least = 0, most = 0, worst = 0;
  std::uint64_t worst_p99 = 0, best_p99 = UINT64_MAX;
  std::vector<std::uint64_t> responses(whole);
  for (std::size_t i = 0; i < whole; ++i) {
    const BenchSlice all = r.series[i].all();
    responses[i] = all.responses;
    if (responses[i] < responses[least]) least = i;
    if (responses[i] > responses[most]) most = i;
    const BenchSlice& timed = split ? r.series[i].healthy : all;
    if (!timed.responses) continue;
    const std::uint64_t p99 = timed.latency().percentile(99);
    best_p99 = std::min(best_p99, p99);
    if (p99 > worst_p99) worst_p99 = p99, worst = i;
  }
  out += fmt::format("  per second: responses {} (second {}) to {} (second {})", responses[least], least,
                     responses[most], most);
  if (worst_p99)
    out += fmt::format(", {}p99 {} to {} (second {})", split ? "healthy " : "", ms(best_p99), ms(worst_p99), worst);
  out += "\n";
}

// A number as the table shows latencies: three significant digits, or whole when larger.
std::string short_number(double v) {
  return v >= 100 ? fmt::format("{:.0f}", v) : v >= 10 ? fmt::format("{:.1f}", v) : fmt::format("{:.2f}", v);
}

}  // namespace

std::string fail_if_value(const FailIfOutcome& f) {
  if (!f.value) return "nothing measured";
  const auto& c = f.condition;
  if (c.unit == "%") return short_number(*f.value) + " %";
  if (!c.unit.empty()) return short_number(*f.value) + c.unit;
  if (c.metric == FailIf::Metric::rps) return fmt::format("{:.1f}", *f.value);
  return fmt::format("{:.0f}", *f.value);
}

namespace {

// The faulty share's answers, judged by status: how many were wrong, and which.
void wrong_line(std::string& out, const BenchOptions& o, const BenchResult& r) {
  std::vector<std::string> which;
  std::uint64_t complete = 0;
  for (std::size_t i = 0; i < o.mix.size(); ++i) {
    if (!o.mix[i].judged) continue;
    complete += r.per_entry[i].responses;
    if (r.per_entry[i].wrong == 0) continue;
    std::string got;
    for (auto [code, n] : r.per_entry[i].status)
      if (!o.mix[i].accepted(code)) got += fmt::format("{}{} × {}", got.empty() ? "" : ", ", code, n);
    which.push_back(fmt::format("{}: {} ({})", o.mix[i].name, got,
                                o.mix[i].accepts.empty()
                                    ? "it accepts no complete response"
                                    : fmt::format("it accepts {}", fmt::join(o.mix[i].accepts, ", "))));
  }
  if (complete == 0 && which.empty()) return;
  out += fmt::format("  wrong    {} of {} complete faulty responses have a status their scenario does not accept{}{}\n",
                     r.faulty.wrong, complete, which.empty() ? "" : ": ", fmt::join(which, "; "));
}

}  // namespace

std::string bench_to_text(const BenchOptions& o, const BenchResult& r, const BenchVerdict& v) {
  const auto groups = stats_by_protocol(o, r);
  std::size_t width = 18;  // the labels' column: the longest scenario name or protocol row fits (up to 64)
  for (const auto& m : o.mix) width = std::max(width, std::min<std::size_t>(2 + m.name.size(), 64));
  for (const auto& g : groups) width = std::max(width, 5 + g.first.size());
  std::string out = fmt::format("\n  {:<{}} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n", "", width,
                                "responses", "per second", "p50", "p90", "p99", "p99.9", "max", "errors");
  row(out, width, "all", r.total, r.seconds);
  if (o.mix.size() > 1) {
    if (r.healthy.responses + r.healthy.errors_total()) row(out, width, "healthy", r.healthy, r.seconds);
    if (r.faulty.responses + r.faulty.errors_total()) row(out, width, "faulty", r.faulty, r.seconds);
    for (std::size_t i = 0; i < o.mix.size(); ++i) row(out, width, "  " + o.mix[i].name, r.per_entry[i], r.seconds);
  }
  if (groups.size() > 1)  // over more than one upstream protocol
    for (const auto& [protocol, stats] : groups) row(out, width, "over " + protocol, stats, r.seconds);
  out += "\n";
  counts(out, r.total);
  wrong_line(out, o, r);
  out += fmt::format("  {} connects; {} request{} in flight at the end (not counted); latency {}\n", r.connects,
                     r.in_flight_at_end, r.in_flight_at_end == 1 ? "" : "s",
                     o.rate > 0 ? "from each request's intended send time" : "from each request's send time");
  if (r.side_connections)
    out += fmt::format("  faulty requests on {} side connection{}{}\n", r.side_connections,
                       r.side_connections == 1 ? "" : "s",
                       r.side_exhausted ? fmt::format("; {} waited on a healthy connection (all side connections "
                                                      "busy: raise --side-connections)",
                                                      r.side_exhausted)
                                        : "");
  seconds_line(out, o, r);
  for (std::size_t i = 0; i < v.fail_if.size(); ++i) {
    const auto& f = v.fail_if[i];
    out += fmt::format("{}{:<24} {:<18} {}\n", i ? "           " : "\n  fail-if  ", f.condition.text, fail_if_value(f),
                       f.failed ? "FAILED" : "ok");
  }
  if (!v.warnings.empty()) out += "\n";
  for (const auto& w : v.warnings) out += fmt::format("  warning: {}\n", w);
  return out;
}

}  // namespace upfault
