// merge_bench_reports: several load generators' `upfault bench` reports as one. Every report is
// untrusted input: bounded in size (64 MiB, a day of seconds), parsed with Boost.JSON's depth limit,
// each field checked for its type, each histogram decoded and checked against its counts.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "base/json_fields.hpp"
#include "bench/bench_report.hpp"
#include "bench/bench_series.hpp"
#include "upfault/scenario.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxReportBytes = 64 << 20;
constexpr std::size_t kMaxSeconds = 24 * 3600;
// No count in a report can be larger (a billion requests a second for eleven days), and at most
// kMaxReports are merged, so no sum of counts can wrap.
constexpr std::uint64_t kMaxCount = 1'000'000'000'000'000;
constexpr std::size_t kMaxReports = 10'000;

using Fields = JsonFields;

// One report, read: what bench_to_json was given, and the figures that are summed as they are.
struct Report {
  BenchOptions options;
  BenchResult result;
  BenchTarget target;
  std::string mode;
  double rps = 0, healthy_rps = 0, faulty_rps = 0, achieved_rate = 0;
  std::vector<double> entry_rps;
  std::vector<std::string> warnings;
};

// The latency histogram of a block, checked against its count and exact figures.
void read_histogram(Fields& in, const json::object& block, std::string_view where, BenchStats& s) {
  if (!block.contains("histogram")) {
    in.fail(where, "histogram",
            "is missing: the report has no latency histogram (an older upfault wrote it), so its percentiles cannot "
            "be merged");
    return;
  }
  const auto& h = in.object(block, "histogram", where);
  const std::string at = fmt::format("{}{}histogram", where, where.empty() ? "" : ".");
  const auto hdr = in.text(h, "hdr", at);
  const auto min = in.count(h, "min_ns", at), max = in.count(h, "max_ns", at);
  if (in.count(h, "count", at) != s.responses && in.error.empty())
    return in.fail(at, "count", fmt::format("is not the block's {} responses", s.responses));
  const auto sum = in.exact(h, "sum_ns", at);
  if (!in.error.empty()) return;
  auto decoded = hdr_from_base64(hdr);
  if (!decoded) return in.fail(at, "hdr", fmt::format("cannot be read: {}", decoded.error().message));
  if (decoded->count() != s.responses)
    return in.fail(at, "hdr", fmt::format("counts {} samples for {} responses", decoded->count(), s.responses));
  if (!decoded->set_exact(min, max, sum))
    return in.fail(at, "", "has a min_ns, max_ns or sum_ns its counters cannot have");
  s.latency = std::move(*decoded);
}

BenchStats read_stats(Fields& in, const json::object& block, std::string_view where) {
  BenchStats s;
  s.responses = in.count(block, "responses", where, kMaxCount);
  for (const auto& [code, n] : in.object(block, "status", where)) {
    int c = 0;
    auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), c);
    if (ec != std::errc() || p != code.data() + code.size() || c < 100 || c > 999)
      in.fail(where, "status", fmt::format("has \"{}\", which is not a status code", std::string_view(code)));
    s.status[c] += in.count(n, fmt::format("{}.status.{}", where, std::string_view(code)), kMaxCount);
  }
  const auto& errors = in.object(block, "errors", where);
  for (std::size_t i = 0; i < kBenchErrorKinds; ++i)
    s.errors[i] = in.count(errors, to_string(static_cast<BenchError>(i)), fmt::format("{}.errors", where), kMaxCount);
  if (errors.size() != kBenchErrorKinds) in.fail(where, "errors", "has error kinds this upfault does not know");
  if (const auto* other = block.if_contains("other_errors"); other && other->is_object())
    for (const auto& [msg, n] : other->get_object()) s.other_errors[std::string(msg)] += in.count(n, where, kMaxCount);
  // Reports written before wrong answers were judged have none: 0.
  if (block.contains("wrong")) s.wrong = in.count(block, "wrong", where, s.responses);
  if (in.error.empty()) read_histogram(in, block, where, s);
  return s;
}

// One class in one second: counts, and the histogram with its exact max.
BenchSlice read_slice(Fields& in, const json::object& o, const std::string& where) {
  BenchSlice s;
  s.responses = in.count(o, "responses", where, kMaxCount);
  s.errors = in.count(o, "errors", where, kMaxCount);
  if (!in.error.empty() || s.responses == 0) return s;
  const auto hdr = in.text(o, "histogram", where);
  const double max_ms = in.number(in.object(o, "latency_ms", where), "max", where + ".latency_ms");
  if (!in.error.empty()) return s;
  auto h = hdr_from_base64(hdr);
  if (!h) return in.fail(where, "histogram", fmt::format("cannot be read: {}", h.error().message)), s;
  const double max_ns = std::round(max_ms * 1e6);  // written from whole nanoseconds: exact
  if (h->count() != s.responses || !(max_ns >= static_cast<double>(h->min()) && max_ns < 1.8e19))
    return in.fail(where, "histogram", "does not match its responses or its max"), s;
  const auto n = static_cast<long double>(h->count());
  const long double sum = std::clamp(h->sum(), n * h->min(), n * static_cast<long double>(max_ns));
  if (!h->set_exact(h->min(), static_cast<std::uint64_t>(max_ns), sum))
    return in.fail(where, "histogram", "does not match its max"), s;
  s.max_ns = h->max();
  s.counts = hdr_payload(*h);
  return s;
}

void read_series(Fields& in, const json::object& doc, Report& rep) {
  const auto& mix = rep.options.mix;
  const bool any_healthy = std::any_of(mix.begin(), mix.end(), [](const MixEntry& m) { return m.healthy; });
  const bool split = any_healthy && std::any_of(mix.begin(), mix.end(), [](const MixEntry& m) { return !m.healthy; });
  const auto& series = in.array(doc, "series", "");
  if (series.size() > kMaxSeconds) return in.fail("", "series", "is longer than a day: not merged");
  for (std::size_t i = 0; i < series.size() && in.error.empty(); ++i) {
    const std::string where = fmt::format("series[{}]", i);
    if (!series[i].is_object()) return in.fail(where, "", "is not an object");
    const auto& o = series[i].get_object();
    if (in.count(o, "second", where) != i) in.fail(where, "second", "is out of order");
    BenchSecond sec;
    if (split) {
      sec.healthy = read_slice(in, in.object(o, "healthy", where), where + ".healthy");
      sec.faulty = read_slice(in, in.object(o, "faulty", where), where + ".faulty");
    } else {
      (any_healthy ? sec.healthy : sec.faulty) = read_slice(in, o, where);
    }
    rep.result.series.push_back(std::move(sec));
  }
}

void read_mix(Fields& in, const json::object& doc, Report& rep) {
  const auto& mix = in.array(doc, "mix", "");
  for (std::size_t i = 0; i < mix.size() && in.error.empty(); ++i) {
    const std::string where = fmt::format("mix[{}]", i);
    if (!mix[i].is_object()) return in.fail(where, "", "is not an object");
    const auto& e = mix[i].get_object();
    MixEntry m;
    m.name = safe_text(in.text(e, "name", where), false);
    m.weight = static_cast<unsigned>(in.count(e, "weight", where, UINT32_MAX));
    m.target = safe_text(in.text(e, "target", where), false);
    const auto* healthy = in.get(e, "healthy", where);
    if (healthy && !healthy->is_bool()) in.fail(where, "healthy", "is not true or false");
    m.healthy = healthy && healthy->is_bool() && healthy->get_bool();
    if (const auto* protocol = e.if_contains("protocol"); protocol) {  // absent: a --url run, or an older report
      if (!protocol->is_string() || !parse_protocol(protocol->get_string()))
        in.fail(where, "protocol", "is not one of \"http/1.1\", \"https\", \"h2c\", \"h2\"");
      else
        m.protocol = std::string(protocol->get_string());
    }
    if (const auto* accepts = e.if_contains("accepts"); accepts) {  // judged by status (absent: not judged)
      if (!accepts->is_array() || accepts->get_array().size() > 64)
        in.fail(where, "accepts", "is not a list of at most 64 status codes");
      else
        for (const auto& code : accepts->get_array())
          m.accepts.push_back(static_cast<int>(in.count(code, fmt::format("{}.accepts", where), 999)));
      m.judged = true;
    }
    rep.options.mix.push_back(std::move(m));
    rep.entry_rps.push_back(in.number(e, "requests_per_second", where));
    rep.result.per_entry.push_back(read_stats(in, e, where));
  }
  if (in.error.empty() && rep.options.mix.empty()) in.fail("", "mix", "is empty");
}

// The options and the counts of the run as a whole.
void read_run(Fields& in, const json::object& doc, Report& rep) {
  auto& o = rep.options;
  auto& r = rep.result;
  const auto& target = in.object(doc, "target", "");
  rep.target.url = safe_text(in.text(target, "url", "target"), false);
  if (target.contains("proxy")) {
    rep.target.proxy = safe_text(in.text(target, "proxy", "target"), false);
    rep.target.proxy_version = safe_text(in.text(target, "proxy_version", "target"), false);
  }
  rep.mode = in.text(doc, "mode", "");
  if (in.error.empty() && rep.mode != "closed-loop" && rep.mode != "constant-rate")
    in.fail("", "mode", "is neither closed-loop nor constant-rate");
  if (rep.mode == "constant-rate") o.rate = in.number(doc, "rate", "");
  o.connections = static_cast<unsigned>(in.count(doc, "connections", "", UINT32_MAX));
  o.threads = static_cast<unsigned>(in.count(doc, "threads", "", UINT32_MAX));
  auto millis = [](double s) { return Millis(static_cast<std::int64_t>(s * 1000 + 0.5)); };
  o.warmup = millis(in.number(doc, "warmup_seconds", "", kMaxSeconds));
  o.timeout = millis(in.number(doc, "timeout_seconds", "", kMaxSeconds));
  r.started_at = in.number(doc, "started_at", "");
  r.seconds = in.number(doc, "seconds", "", kMaxSeconds);
  if (doc.contains("interrupted")) r.interrupted = static_cast<int>(in.count(doc, "interrupted", "", 64));
  r.sent = in.count(doc, "requests_sent", "", kMaxCount);
  rep.achieved_rate = in.number(doc, "achieved_rate", "");
  r.connects = in.count(doc, "connects", "", kMaxCount);
  r.in_flight_at_end = in.count(doc, "in_flight_at_end", "", kMaxCount);
  r.side_connections = in.count(doc, "side_connections", "", kMaxCount);
  r.side_exhausted = in.count(doc, "side_exhausted", "", kMaxCount);
  rep.rps = in.number(doc, "requests_per_second", "");
  rep.healthy_rps = in.number(in.object(doc, "healthy", ""), "requests_per_second", "healthy");
  rep.faulty_rps = in.number(in.object(doc, "faulty", ""), "requests_per_second", "faulty");
  for (const auto& w : in.array(doc, "warnings", ""))
    if (w.is_string()) rep.warnings.emplace_back(w.get_string());
}

Result<Report> read_report(const std::string& text, std::size_t number) {
  const auto refuse = [number](std::string_view why) { return problem(fmt::format("report {}: {}", number, why)); };
  if (text.size() > kMaxReportBytes) return refuse("larger than 64 MiB: not an upfault bench report, or not merged");
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);  // at most 32 levels deep (Boost.JSON's default)
  if (ec) return refuse(fmt::format("not JSON ({})", ec.message()));
  if (!root.is_object()) return refuse("not an upfault bench report (not a JSON object)");
  const auto& doc = root.get_object();
  const auto* schema = doc.if_contains("schema");
  if (!schema || !schema->is_string()) return refuse("not an upfault bench report (it has no schema)");
  if (schema->get_string() != bench_report::kSchema)
    return refuse(fmt::format("schema {}, not {}: only bench reports of this schema merge",
                              std::string_view(schema->get_string()), bench_report::kSchema));
  Fields in;
  Report rep;
  read_run(in, doc, rep);
  if (in.error.empty()) rep.result.total = read_stats(in, doc, "");
  if (in.error.empty()) rep.result.healthy = read_stats(in, in.object(doc, "healthy", ""), "healthy");
  if (in.error.empty()) rep.result.faulty = read_stats(in, in.object(doc, "faulty", ""), "faulty");
  if (in.error.empty()) read_mix(in, doc, rep);
  if (in.error.empty()) read_series(in, doc, rep);
  if (!in.error.empty()) return refuse(in.error);
  return rep;
}

std::string describe_target(const BenchTarget& t) {
  return t.proxy.empty() ? t.url : fmt::format("{} {}", t.proxy, t.proxy_version);
}

std::string describe_mix(const std::vector<MixEntry>& mix) {
  std::string out;
  for (const auto& m : mix)
    out += fmt::format("{}{}={} ({}{}{})", out.empty() ? "" : ", ", m.name, m.weight, m.target,
                       m.protocol.empty() ? "" : ", " + m.protocol, m.healthy ? "" : ", faulty");
  return out;
}

// Why `b` (report `number`) cannot be merged with `a` (report 1), or "" when it can.
std::string incompatible(const Report& a, const Report& b, std::size_t number) {
  if (describe_target(a.target) != describe_target(b.target))
    return fmt::format("report {} measured {}, report 1 {}: only reports of one target merge", number,
                       describe_target(b.target), describe_target(a.target));
  if (a.mode != b.mode)
    return fmt::format("report {} ran {}, report 1 {}: latencies measured differently do not merge", number, b.mode,
                       a.mode);
  if (describe_mix(a.options.mix) != describe_mix(b.options.mix))
    return fmt::format("report {}'s mix ({}) is not report 1's ({}): only reports of one mix merge", number,
                       describe_mix(b.options.mix), describe_mix(a.options.mix));
  return {};
}

// Adds report `b` (number `number`) into `a`.
void add(Report& a, const Report& b, std::size_t number, std::vector<std::string>& warnings) {
  auto& o = a.options;
  auto& r = a.result;
  o.rate += b.options.rate;
  o.connections += b.options.connections;  // both below 2^32 and checked by fits() first
  o.threads += b.options.threads;
  if (b.result.interrupted) {
    r.interrupted = b.result.interrupted;
    warnings.push_back(fmt::format("report {} was of a run stopped by a signal: merged with --partial", number));
  }
  if (b.options.timeout != o.timeout || b.options.warmup != o.warmup)
    warnings.push_back(fmt::format("report {} ran with another --timeout or --warmup than report 1", number));
  if (std::abs(b.result.started_at - r.started_at) > 1.0)
    warnings.push_back(
        fmt::format("report {} started {:.1f} s apart from report 1: its per-second series is added "
                    "by second from each one's start, so those seconds were not the same",
                    number, b.result.started_at - r.started_at));
  r.started_at = std::min(r.started_at, b.result.started_at);
  r.seconds = std::max(r.seconds, b.result.seconds);
  r.sent += b.result.sent;
  r.connects += b.result.connects;
  r.in_flight_at_end += b.result.in_flight_at_end;
  r.side_connections += b.result.side_connections;
  r.side_exhausted += b.result.side_exhausted;
  r.total.merge(b.result.total);
  r.healthy.merge(b.result.healthy);
  r.faulty.merge(b.result.faulty);
  for (std::size_t i = 0; i < r.per_entry.size(); ++i) {
    r.per_entry[i].merge(b.result.per_entry[i]);
    a.entry_rps[i] += b.entry_rps[i];
  }
  merge_series(r.series, b.result.series);
  a.rps += b.rps;
  a.healthy_rps += b.healthy_rps;
  a.faulty_rps += b.faulty_rps;
  a.achieved_rate += b.achieved_rate;
}

json::object source_json(const Report& r) {
  json::object o{{"started_at", r.result.started_at},
                 {"seconds", r.result.seconds},
                 {"responses", r.result.total.responses},
                 {"requests_per_second", r.rps},
                 {"errors_total", r.result.total.errors_total()}};
  if (r.options.rate > 0) o["rate"] = r.options.rate;
  if (r.result.interrupted) o["interrupted"] = r.result.interrupted;
  return o;
}

// Why report `rep` (number `number`) cannot be merged at all, or "".
std::string unmergeable(const Report& rep, std::size_t number, bool partial) {
  if (rep.result.interrupted && !partial)
    return fmt::format(
        "report {} is of a run stopped by {} after {:.1f} s, not the whole run: merge only whole runs, "
        "or --partial for a report marked interrupted",
        number, strsignal(rep.result.interrupted), rep.result.seconds);
  return {};
}

// Whether `b`'s connections and threads can be added to `a`'s without wrapping.
bool fits(const Report& a, const Report& b) {
  return std::uint64_t{a.options.connections} + b.options.connections <= UINT32_MAX &&
         std::uint64_t{a.options.threads} + b.options.threads <= UINT32_MAX;
}

}  // namespace

Result<std::string> merge_bench_reports(const std::vector<std::string>& json_texts, bool partial) {
  if (json_texts.empty()) return problem("no reports to merge");
  if (json_texts.size() > kMaxReports)
    return problem(fmt::format("{} reports: at most {} merge at once", json_texts.size(), kMaxReports));
  std::optional<Report> merged;
  std::vector<std::string> warnings;
  json::array sources;
  for (std::size_t i = 0; i < json_texts.size(); ++i) {
    auto rep = read_report(json_texts[i], i + 1);
    if (!rep) return rep.error();
    if (auto why = unmergeable(*rep, i + 1, partial); !why.empty()) return problem(why);
    for (const auto& w : rep->warnings) warnings.push_back(fmt::format("report {}: {}", i + 1, w));
    sources.push_back(source_json(*rep));
    if (!merged) {
      if (rep->result.interrupted)
        warnings.push_back("report 1 was of a run stopped by a signal: merged with --partial");
      merged = std::move(*rep);
      continue;
    }
    if (auto why = incompatible(*merged, *rep, i + 1); !why.empty()) return problem(why);
    if (!fits(*merged, *rep))
      return problem(fmt::format("report {}: the connections or threads of the reports add up to more than {}", i + 1,
                                 UINT32_MAX));
    add(*merged, *rep, i + 1, warnings);
  }
  Report& m = *merged;
  json::object doc = bench_report::report_json(m.options, m.result, m.target, BenchVerdict{{}, warnings});
  // What ran at the same time adds up: each one's rate over its own window.
  doc["requests_per_second"] = m.rps;
  doc["healthy"].as_object()["requests_per_second"] = m.healthy_rps;
  doc["faulty"].as_object()["requests_per_second"] = m.faulty_rps;
  auto& mix = doc["mix"].as_array();
  for (std::size_t i = 0; i < mix.size(); ++i) mix[i].as_object()["requests_per_second"] = m.entry_rps[i];
  if (auto* by_protocol = doc.if_contains("by_protocol"); by_protocol) {  // each protocol's entries' rates, added
    for (auto& [protocol, stats] : by_protocol->as_object()) {
      double sum = 0;
      for (std::size_t i = 0; i < m.options.mix.size(); ++i)
        if (m.options.mix[i].protocol == protocol) sum += m.entry_rps[i];
      stats.as_object()["requests_per_second"] = sum;
    }
  }
  doc["achieved_rate"] = m.achieved_rate;
  doc["merged_from"] = std::move(sources);
  return json::serialize(doc) + "\n";
}

}  // namespace upfault
