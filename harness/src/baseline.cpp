#include "upfault/baseline.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cctype>

#include "bounded_input.hpp"
#include "upfault/report.hpp"
#include "upfault/text.hpp"
#include "util.hpp"

namespace upfault {

namespace json = boost::json;

namespace {
constexpr std::string_view kSchema = "upfault-baseline/1";
constexpr std::size_t kMaxBaselineBytes = 4 << 20;

bool passed(std::string_view outcome) { return outcome == "pass" || outcome == "stricter"; }

// An outcome as baseline_outcome() writes it: a verdict, or "fail: " with a status (three digits
// or "no status") and how the exchange ended.
bool valid_outcome(std::string_view o) {
  if (auto v = verdict_named(o)) return *v != VerdictKind::fail;  // a failure says what the client saw
  if (!o.starts_with("fail: ")) return false;
  o.remove_prefix(6);
  if (o.starts_with("no status "))
    o.remove_prefix(10);
  else if (o.size() > 4 && std::isdigit(static_cast<unsigned char>(o[0])) &&
           std::isdigit(static_cast<unsigned char>(o[1])) && std::isdigit(static_cast<unsigned char>(o[2])) &&
           o[3] == ' ')
    o.remove_prefix(4);
  else
    return false;
  for (auto e : {Ending::complete, Ending::closed_early, Ending::reset, Ending::timed_out, Ending::invalid,
                 Ending::connect_failed})
    if (o == to_string(e)) return true;
  return false;
}
}  // namespace

std::string baseline_outcome(const ScenarioResult& r) {
  switch (r.verdict.kind) {
    case VerdictKind::pass: return "pass";
    case VerdictKind::stricter: return "stricter";
    case VerdictKind::error: return "error";
    case VerdictKind::not_run: return "not-run";
    case VerdictKind::fail: break;
  }
  const auto status = r.client.header_complete && r.client.response ? fmt::format("{:03}", r.client.response->status)
                                                                    : std::string("no status");
  return fmt::format("fail: {} {}", status, to_string(r.client.ending));
}

std::string to_baseline_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results) {
  json::object scenarios;
  for (const auto& r : results) scenarios[r.scenario->name] = baseline_outcome(r);
  json::object root{
      {"schema", std::string(kSchema)},
      {"proxy", safe_text(proxy.version.empty() ? proxy.name : fmt::format("{} {}", proxy.name, proxy.version))}};
  root["scenarios"] = std::move(scenarios);
  return json::serialize(root) + "\n";
}

Result<Baseline> load_baseline(const std::string& path) {
  auto text = read_bounded(path, kMaxBaselineBytes);
  if (!text) return text.error().prefixed(fmt::format("--baseline: {}: ", path));
  boost::system::error_code ec;
  auto root = json::parse(*text, ec);
  const auto* obj = ec ? nullptr : root.if_object();
  const auto* schema = obj ? obj->if_contains("schema") : nullptr;
  const auto* list = obj ? obj->if_contains("scenarios") : nullptr;
  if (!schema || !schema->is_string() || schema->as_string() != kSchema || !list || !list->is_object())
    return problem(fmt::format("--baseline: {} is not an upfault baseline ({}): write one with --write-baseline", path,
                               ec ? ec.message() : fmt::format("it needs schema {}", kSchema)));
  Baseline b;
  if (const auto* p = obj->if_contains("proxy"); p && p->is_string())
    b.proxy = safe_text(std::string_view(p->as_string()).substr(0, 200), false);
  for (const auto& [name, outcome] : list->as_object()) {
    if (!valid_name(name))
      return problem(fmt::format("--baseline: {}: \"{}\" is not a scenario name (a-z, 0-9, '-', '_', '.')", path,
                                 safe_text(std::string_view(name).substr(0, 80), false)));
    if (!outcome.is_string() || !valid_outcome(outcome.as_string()))
      return problem(fmt::format(
          "--baseline: {}: the outcome of {} is not one upfault records (pass, stricter, error, not-run, or "
          "\"fail: STATUS ENDING\" such as \"fail: 200 complete\"): {}",
          path, std::string_view(name),
          outcome.is_string()
              ? fmt::format("\"{}\"", safe_text(std::string_view(outcome.as_string()).substr(0, 80), false))
              : std::string("not a string")));
    b.outcome[std::string(name)] = std::string(outcome.as_string());
  }
  return b;
}

BaselineComparison compare(const Baseline& baseline, const std::vector<ScenarioResult>& results) {
  BaselineComparison out;
  for (const auto& r : results) {
    const auto now = baseline_outcome(r);
    const auto it = baseline.outcome.find(r.scenario->name);
    const std::string was = it == baseline.outcome.end() ? "" : it->second;
    if (now == "error" || (was.empty() ? !passed(now) : was != now))
      out.changes.push_back({r.scenario->name, was, now, !was.empty() && !passed(was) && passed(now),
                             !was.empty() && passed(was) && !passed(now)});
    else if (!passed(now))
      ++out.known_failures;
  }
  return out;
}

}  // namespace upfault
