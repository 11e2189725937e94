// How a run stands against a baseline: each scenario's BaselineStatus, the report's "baseline"
// fields, and the console's lines. The JUnit file and the summary read the fields (report_files.cpp).
#include <fmt/format.h>
#include <boost/json.hpp>

#include <array>

#include "upfault/baseline.hpp"
#include "upfault/report.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace json = boost::json;

namespace {
constexpr std::array kStatuses{BaselineStatus::unchanged_pass, BaselineStatus::new_pass,    BaselineStatus::known,
                               BaselineStatus::fixed,          BaselineStatus::new_failure, BaselineStatus::changed,
                               BaselineStatus::error,          BaselineStatus::not_run,     BaselineStatus::dropped};

bool passed(std::string_view outcome) { return outcome == "pass" || outcome == "stricter"; }
}  // namespace

std::string_view to_string(BaselineStatus s) {
  switch (s) {
    case BaselineStatus::unchanged_pass: return "unchanged-pass";
    case BaselineStatus::new_pass: return "new";
    case BaselineStatus::known: return "known";
    case BaselineStatus::fixed: return "fixed";
    case BaselineStatus::new_failure: return "new-failure";
    case BaselineStatus::changed: return "changed";
    case BaselineStatus::error: return "error";
    case BaselineStatus::not_run: return "not-run";
    case BaselineStatus::dropped: return "dropped";
  }
  return "changed";
}

std::optional<BaselineStatus> baseline_status_named(std::string_view word) {
  for (auto s : kStatuses)
    if (word == to_string(s)) return s;
  return std::nullopt;
}

bool is_change(BaselineStatus s) {
  return s == BaselineStatus::fixed || s == BaselineStatus::new_failure || s == BaselineStatus::changed ||
         s == BaselineStatus::error || s == BaselineStatus::dropped;
}

BaselineStatus classify(std::string_view was, std::string_view now) {
  // A scenario the baseline holds that this run could not ask (its protocol left out of the
  // proxy's): the run tests less than the baseline does, which a green run must not hide.
  if (now == "not-run") return was.empty() || was == "not-run" ? BaselineStatus::not_run : BaselineStatus::dropped;
  if (now == "error") return BaselineStatus::error;
  if (was.empty() || was == "not-run") return passed(now) ? BaselineStatus::new_pass : BaselineStatus::new_failure;
  if (was == now) return passed(now) ? BaselineStatus::unchanged_pass : BaselineStatus::known;
  if (passed(was) != passed(now)) return passed(now) ? BaselineStatus::fixed : BaselineStatus::new_failure;
  return BaselineStatus::changed;  // another failure, or pass ↔ stricter
}

BaselineComparison apply_baseline(json::object& report, const Baseline& baseline, std::string_view file) {
  BaselineComparison out;
  std::map<BaselineStatus, std::uint64_t> counts;
  if (auto* rows = report.if_contains("results"); rows && rows->is_array())
    for (auto& value : rows->as_array()) {
      if (!value.is_object()) continue;
      auto& row = value.as_object();
      const auto name = text_of(row, "scenario"), now = baseline_outcome(row);
      const auto it = baseline.outcome.find(name);
      const std::string was = it == baseline.outcome.end() ? "" : it->second;
      const auto status = classify(was, now);
      ++counts[status];
      row["baseline"] = std::string(to_string(status));
      if (was.empty())
        row.erase("baseline_recorded");
      else
        row["baseline_recorded"] = was;
      if (is_change(status))
        out.changes.push_back({name, was, now, status});
      else if (status == BaselineStatus::known)
        ++out.known_failures;
    }
  json::object recorded;
  if (!baseline.proxy.empty()) recorded["proxy"] = baseline.proxy;
  if (!baseline.upfault.empty()) recorded["upfault"] = baseline.upfault;
  if (baseline.strict) recorded["strict"] = *baseline.strict;
  json::object tally;
  for (auto s : kStatuses) tally[to_string(s)] = counts[s];
  report["baseline"] = {{"file", safe_text(file, false)},
                        {"recorded_with", std::move(recorded)},
                        {"holds", out.changes.empty()},
                        {"changes", out.changes.size()},
                        {"counts", std::move(tally)}};
  return out;
}

std::string baseline_console(const json::object& report) {
  const auto* block = report.if_contains("baseline");
  const auto* rows = report.if_contains("results");
  if (!block || !block->is_object() || !rows || !rows->is_array()) return "";
  std::string out;
  std::uint64_t changes = 0, known = 0;
  for (const auto& value : rows->as_array()) {
    if (!value.is_object()) continue;
    const auto& row = value.as_object();
    const auto status = baseline_status_named(text_of(row, "baseline"));
    if (status == BaselineStatus::known) ++known;
    if (!status || !is_change(*status)) continue;
    ++changes;
    const auto was = text_of(row, "baseline_recorded");
    out += fmt::format(
        "baseline: {} {}: {} → {}\n", *status == BaselineStatus::new_failure ? "new failure" : to_string(*status),
        text_of(row, "scenario"), was.empty() ? "(not in the baseline: it must pass)" : was, baseline_outcome(row));
  }
  const auto& b = block->as_object();
  const auto* with = b.if_contains("recorded_with");
  const auto against = with && with->is_object() ? text_of(with->as_object(), "proxy") : "";
  if (!against.empty() && against != proxy_label(report))
    out += fmt::format("baseline: recorded against {}; this run is through {}\n", against, proxy_label(report));
  out += fmt::format(
      "baseline {}: {} known failure{} as recorded, {} change{}{}\n", text_of(b, "file"), known, known == 1 ? "" : "s",
      changes, changes == 1 ? "" : "s",
      changes == 0 ? "" : " (a fixed scenario counts too: record the baseline again with --write-baseline)");
  return safe_text(out);
}

}  // namespace upfault
