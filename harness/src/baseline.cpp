#include "upfault/baseline.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "bounded_input.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace json = boost::json;

namespace {
constexpr std::string_view kSchema = "upfault-baseline/1";
constexpr std::size_t kMaxBaselineBytes = 4 << 20;

bool passed(std::string_view outcome) { return outcome == "pass" || outcome == "stricter"; }
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
  if (const auto* p = obj->if_contains("proxy"); p && p->is_string()) b.proxy = std::string(p->as_string());
  for (const auto& [name, outcome] : list->as_object()) {
    if (!outcome.is_string())
      return problem(fmt::format("--baseline: {}: the outcome of {} is not a string", path, std::string(name)));
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
