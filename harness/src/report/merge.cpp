// upfault merge for run reports: shards (or machines) into the report of one run.
#include "upfault/merge.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "base/bounded_input.hpp"
#include "base/json_fields.hpp"
#include "base/util.hpp"
#include "upfault/repeat.hpp"
#include "upfault/report.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace json = boost::json;

namespace {

// One input, checked: a run report with its suite position and rows that say where they stand.
struct Shard {
  std::string name;
  json::object report;
  std::string fingerprint, proxy, version, settings;
  std::uint64_t total = 0;
  unsigned index = 1, count = 1;
  std::uint64_t read_ms = 0, connect_ms = 0;
  bool strict = false;
  std::uint64_t repeat = 0, repeat_completed = 0;  ///< its `repeat` block (--repeat N), 0 without
  std::string incomplete;                          ///< why it does not hold its whole shard (stopped early), or ""
};

Result<json::object> parse_report(const NamedReport& in) {
  json::parse_options limits;
  limits.max_depth = 32;
  boost::system::error_code ec;
  auto v = json::parse(in.text, ec, {}, limits);
  if (ec || !v.is_object())
    return problem(fmt::format("{}: not a JSON report ({})", in.name, ec ? ec.message() : "not an object"));
  return std::move(v.as_object());
}

// The suite's size and the shard counts: bounded as `upfault run` bounds them, so that no number a
// file holds can size an allocation or a loop.
constexpr std::uint64_t kMaxScenarios = 1'000'000;

// A row's outcomes over --repeat, as the JUnit file and the summary read them.
void check_runs(JsonFields& f, const json::object& o, const std::string& where) {
  if (const auto* u = o.if_contains("unstable"); u && !u->is_bool())
    return f.fail(where, "unstable", "is not a boolean");
  const auto* runs = o.if_contains("runs");
  if (!runs) return;
  if (!runs->is_array() || runs->as_array().empty() || runs->as_array().size() > kMaxRunOutcomes)
    return f.fail(where, "runs", fmt::format("is not an array of 1 to {} outcomes", kMaxRunOutcomes));
  for (std::size_t i = 0; i < runs->as_array().size() && f.ok(); ++i) {
    const auto at = fmt::format("{}.runs[{}]", where, i);
    const auto* e = runs->as_array()[i].if_object();
    if (!e) return f.fail(at, "", "is not an object");
    if (const auto verdict = f.text(*e, "verdict", at); f.ok() && !verdict_named(verdict))
      return f.fail(at, "verdict", "is not pass, stricter, fail, error or not-run");
    (void)f.text(*e, "reason", at);
    if (f.count(*e, "count", at, kMaxRepeat) == 0 && f.ok()) f.fail(at, "count", "is 0: an outcome no run gave");
  }
}

// One result row, as the JUnit file, the summary and the matrix read it: every field of its type,
// so the merged report keeps the schema whatever a shard held.
void check_row(JsonFields& f, const json::value& row, std::size_t i, std::uint64_t total) {
  const std::string where = fmt::format("results[{}]", i);
  const auto* o = row.if_object();
  if (!o) return f.fail(where, "", "is not an object");
  if (f.count(*o, "index", where) >= total && f.ok())
    return f.fail(where, "index", fmt::format("is not a place in a suite of {}", total));
  if (const auto name = f.text(*o, "scenario", where); f.ok() && !valid_name(name))
    return f.fail(where, "scenario", "is not a scenario name (a-z, 0-9, '-', '_', '.')");
  if (const auto verdict = f.text(*o, "verdict", where); f.ok() && !verdict_named(verdict))
    return f.fail(where, "verdict", "is not pass, stricter, fail, error or not-run");
  for (std::string_view key : {"category", "level", "rfc", "summary", "reason", "note", "ended", "received_preview"})
    if (o->contains(key)) (void)f.text(*o, key, where);
  if (const auto ended = text_of(*o, "ended"); f.ok() && o->contains("ended") && !ending_named(ended))
    return f.fail(where, "ended", "is not complete, closed-early, reset, timed-out, invalid or connect-failed");
  if (const auto* st = o->if_contains("status"); st && !st->is_null()) (void)f.count(*st, where + ".status", 999);
  for (std::string_view key : {"elapsed_ms", "bytes_received"})
    if (o->contains(key)) (void)f.count(*o, key, where);
  check_runs(f, *o, where);
}

Result<Shard> read_shard(const NamedReport& in) {
  auto report = parse_report(in);
  if (!report) return report.error();
  Shard s;
  s.name = in.name;
  s.report = std::move(*report);
  const auto& r = s.report;
  if (text_of(r, "schema") != "upfault-run/1")
    return problem(fmt::format("{}: schema \"{}\", not an upfault run report (upfault-run/1)", in.name,
                               safe_text(text_of(r, "schema"), false)));
  const auto* suite = r.if_contains("suite");
  const auto* results = r.if_contains("results");
  const auto* proxy = r.if_contains("proxy");
  if (!suite || !suite->is_object() || !results || !results->is_array() || !proxy || !proxy->is_object())
    return problem(
        fmt::format("{}: no \"suite\", \"proxy\" or \"results\": written by `upfault run --json` of an "
                    "older upfault? Run the shards again with this one",
                    in.name));
  const auto& su = suite->as_object();
  JsonFields f;
  s.fingerprint = f.text(su, "fingerprint", "suite");
  s.proxy = safe_text(text_of(proxy->as_object(), "name"), false);
  s.version = safe_text(text_of(proxy->as_object(), "version"), false);
  s.total = f.count(su, "total", "suite", kMaxScenarios);
  const auto shard = f.text(su, "shard", "suite");
  s.read_ms = f.count(su, "read_timeout_ms", "suite", UINT32_MAX);
  s.connect_ms = f.count(su, "connect_timeout_ms", "suite", UINT32_MAX);
  const std::uint64_t expected = f.count(su, "scenarios", "suite", kMaxScenarios);
  const auto* strict = su.if_contains("strict");
  const auto* stopped = r.if_contains("interrupted");
  if (stopped) (void)f.count(*stopped, "interrupted", 64);
  if (r.contains("repeat")) {
    const auto& repeat = f.object(r, "repeat", "");
    s.repeat = f.count(repeat, "runs", "repeat", kMaxRepeat);
    s.repeat_completed = f.count(repeat, "completed", "repeat", s.repeat);
  }
  const auto& rows = results->as_array();
  for (std::size_t i = 0; i < rows.size() && f.ok(); ++i) check_row(f, rows[i], i, s.total);
  if (!f.ok()) return problem(fmt::format("{}: {}", in.name, f.error));
  s.fingerprint = safe_text(s.fingerprint, false);
  auto position = parse_shard(shard);
  if (!position) return position.error().prefixed(fmt::format("{}: suite.shard ", in.name));
  std::tie(s.index, s.count) = *position;
  s.strict = strict && strict->is_bool() && strict->as_bool();
  s.settings = fmt::format("read timeout {} ms, connect timeout {} ms{}{}", s.read_ms, s.connect_ms,
                           s.strict ? ", --strict" : "", s.repeat > 1 ? fmt::format(", --repeat {}", s.repeat) : "");
  const std::uint64_t held = rows.size();
  if (stopped || held != expected)
    s.incomplete = fmt::format("{} holds {} of its {} scenarios{}", in.name, held, expected,
                               stopped ? " (the run was stopped by a signal)" : "");
  return s;
}

// Every shard of the same suite through the same proxy; each shard once; all of them unless partial.
Result<std::vector<unsigned>> check_together(const std::vector<Shard>& shards, const MergeOptions& options) {
  const Shard& first = shards.front();
  std::set<unsigned> seen;
  for (const auto& s : shards) {
    if (s.fingerprint != first.fingerprint || s.total != first.total)
      return problem(
          fmt::format("{} and {} ran different suites ({} scenarios, fingerprint {}; {} scenarios, "
                      "fingerprint {}): merge only shards of one suite",
                      first.name, s.name, first.total, first.fingerprint, s.total, s.fingerprint));
    if (s.proxy != first.proxy || s.version != first.version)
      return problem(fmt::format("{} ran through {} {} and {} through {} {}: merge only runs through one proxy version",
                                 first.name, first.proxy, first.version, s.name, s.proxy, s.version));
    if (s.settings != first.settings)
      return problem(fmt::format("{} ran with {} and {} with {}: merge only runs judged alike", first.name,
                                 first.settings, s.name, s.settings));
    if (!s.incomplete.empty() && !options.partial)
      return problem(fmt::format("{}: merge only whole shards, or --partial", s.incomplete));
    if (s.count != first.count)
      return problem(fmt::format("{} is shard {}/{} and {} shard {}/{}: the suites were split differently", first.name,
                                 first.index, first.count, s.name, s.index, s.count));
    if (!seen.insert(s.index).second)
      return problem(fmt::format("shard {}/{} is given twice ({} among them)", s.index, s.count, s.name));
  }
  std::vector<unsigned> missing;  // at most kMaxShards (parse_shard bounds the count)
  for (unsigned i = 1; i <= first.count; ++i)
    if (!seen.count(i)) missing.push_back(i);
  if (!missing.empty() && !options.partial)
    return problem(
        fmt::format("shard{} {} of {} missing: give every shard, or --partial for a report that says "
                    "which are missing",
                    missing.size() == 1 ? "" : "s", fmt::join(missing, ", "), first.count));
  return missing;
}

}  // namespace

Result<NamedReport> read_report(const std::string& path) {
  auto text = read_bounded(path, std::size_t{64} << 20);
  if (!text) return text.error().prefixed(path + ": ");
  return NamedReport{path, std::move(*text)};
}

Result<json::object> merge_run_reports(const std::vector<NamedReport>& inputs, const MergeOptions& options) {
  if (inputs.empty()) return problem("nothing to merge");
  std::vector<Shard> shards;
  for (const auto& in : inputs) {
    auto s = read_shard(in);
    if (!s) return s.error();
    shards.push_back(std::move(*s));
  }
  auto missing = check_together(shards, options);
  if (!missing) return missing.error();

  std::map<std::uint64_t, json::value> rows;  // by place in the suite
  double wall = 0;
  json::array from;
  for (auto& s : shards) {
    for (auto& row : s.report.at("results").as_array()) {
      const auto& at = row.as_object().at("index");  // checked by read_shard: a count below total
      const auto i = at.is_uint64() ? at.get_uint64() : static_cast<std::uint64_t>(at.get_int64());
      if (rows.count(i))
        return problem(fmt::format("{}: scenario {} is in two reports", s.name, text_of(row.as_object(), "scenario")));
      // A shard's own comparison with a baseline covers its shard only: merge --baseline compares anew.
      row.as_object().erase("baseline");
      row.as_object().erase("baseline_recorded");
      rows.emplace(i, std::move(row));
    }
    if (const auto* sum = s.report.if_contains("summary"); sum && sum->is_object())
      if (const auto* w = sum->as_object().if_contains("wall_seconds"); w && w->is_number()) {
        const double d = w->is_double()  ? w->get_double()
                         : w->is_int64() ? static_cast<double>(w->get_int64())
                                         : static_cast<double>(w->get_uint64());
        wall = std::max(wall, std::clamp(d, 0.0, 1e9));  // NaN cannot be read from JSON
      }
    from.push_back(json::value(s.name));
  }
  json::array results;
  for (auto& [i, row] : rows) results.push_back(std::move(row));
  const Shard& first = shards.front();
  // Every shard given, each holding what it says: together they must hold the whole suite.
  if (missing->empty() && results.size() != first.total && !options.partial)
    return problem(
        fmt::format("the shards hold {} of the suite's {} scenarios, though none says it lacks any: "
                    "merge only whole shards, or --partial",
                    results.size(), first.total));
  json::object out;
  out["schema"] = "upfault-run/1";
  out["proxy"] = first.report.at("proxy");
  // As a run's own suite block, so that a merged report merges again.
  json::object suite{{"fingerprint", first.fingerprint},
                     {"total", first.total},
                     {"shard", "1/1"},
                     {"scenarios", results.size()},
                     {"read_timeout_ms", first.read_ms},
                     {"connect_timeout_ms", first.connect_ms},
                     {"strict", first.strict}};
  if (!missing->empty()) {
    suite["missing_shards"] = json::value_from(*missing);
    suite["shard"] = fmt::format("{} of {} shards", first.count - missing->size(), first.count);
  }
  json::array incomplete;
  for (const auto& s : shards)
    if (!s.incomplete.empty()) incomplete.push_back(json::value(s.incomplete));
  if (missing->empty() && results.size() != first.total &&
      !std::any_of(shards.begin(), shards.end(), [](auto& s) { return !s.incomplete.empty(); }))
    incomplete.push_back(
        json::value(fmt::format("the shards hold {} of the suite's {} scenarios", results.size(), first.total)));
  if (!incomplete.empty()) suite["incomplete"] = std::move(incomplete);
  out["suite"] = std::move(suite);
  if (first.repeat > 1) {  // every shard ran as many times (check_together): as many as the fewest completed
    std::uint64_t completed = first.repeat;
    for (const auto& s : shards) completed = std::min(completed, s.repeat_completed);
    out["repeat"] = {{"runs", first.repeat}, {"completed", completed}};
  }
  out["summary"] = report_summary(results, wall);
  out["results"] = std::move(results);
  out["merged_from"] = std::move(from);
  return out;
}

}  // namespace upfault
