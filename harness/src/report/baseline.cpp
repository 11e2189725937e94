// The baseline file: the outcomes it records, writing it (one scenario per line, sorted) and
// reading it back as untrusted input. How a run stands against it: baseline_report.cpp.
#include "upfault/baseline.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cctype>

#include "base/bounded_input.hpp"
#include "base/util.hpp"
#include "upfault/report.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace json = boost::json;

namespace {
constexpr std::string_view kSchema = "upfault-baseline/1";
constexpr std::size_t kMaxBaselineBytes = 4 << 20;
constexpr std::size_t kMaxLabel = 200;  // a made_with text: a version, a proxy's name

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
  return ending_named(o).has_value();
}

// Text for made_with: terminal-safe and at most kMaxLabel bytes, cut on a character's boundary,
// so that the reader takes back whatever was written.
std::string label_text(std::string_view raw) {
  std::string s = safe_text(raw, false);
  if (s.size() > kMaxLabel) {
    std::size_t n = kMaxLabel;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
  }
  return s;
}

std::string json_quoted(std::string_view s) { return json::serialize(json::string(s)); }

// made_with, as read: each field optional (an older file has none), each of its type.
Result<void> read_made_with(const json::object& root, std::string_view name, Baseline& b) {
  const auto* made = root.if_contains("made_with");
  if (!made) return {};
  auto wrong = [&](std::string_view field, std::string_view what) {
    return problem(fmt::format("--baseline: {}: made_with{}{} {}", name, field.empty() ? "" : ".", field, what));
  };
  if (!made->is_object()) return wrong("", "is not an object");
  std::map<std::string_view, std::string> text;
  for (std::string_view key : {"upfault", "proxy", "proxy_version"}) {
    const auto* v = made->as_object().if_contains(key);
    if (!v) continue;
    if (!v->is_string() || v->as_string().size() > kMaxLabel || safe_text(v->as_string(), false) != v->as_string())
      return wrong(key, fmt::format("is not printable text of at most {} bytes", kMaxLabel));
    text[key] = std::string(v->as_string());
  }
  if (const auto* s = made->as_object().if_contains("strict")) {
    if (!s->is_bool()) return wrong("strict", "is not true or false");
    b.strict = s->as_bool();
  }
  b.upfault = text["upfault"];
  if (!text["proxy"].empty())
    b.proxy =
        text["proxy_version"].empty() ? text["proxy"] : fmt::format("{} {}", text["proxy"], text["proxy_version"]);
  return {};
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

std::string baseline_outcome(const json::object& row) {
  const auto verdict = text_of(row, "verdict");
  if (verdict != "fail") return verdict_named(verdict) ? verdict : std::string("error");
  const auto* st = row.if_contains("status");
  const auto status = st && st->is_int64() && st->as_int64() >= 0 && st->as_int64() <= 999
                          ? fmt::format("{:03}", st->as_int64())
                      : st && st->is_uint64() && st->as_uint64() <= 999 ? fmt::format("{:03}", st->as_uint64())
                                                                        : std::string("no status");
  return fmt::format("fail: {} {}", status, text_of(row, "ended"));
}

Result<std::string> to_baseline_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                     std::string_view upfault_version, bool strict) {
  std::map<std::string, std::string> sorted;
  std::vector<std::string> errors;
  for (const auto& r : results) {
    if (r.verdict.kind == VerdictKind::error) errors.push_back(r.scenario->name);
    if (r.verdict.kind != VerdictKind::not_run) sorted[r.scenario->name] = baseline_outcome(r);
  }
  if (!errors.empty()) {
    std::string named;
    for (std::size_t i = 0; i < errors.size() && i < 20; ++i) named += fmt::format("{}{}", i ? ", " : "", errors[i]);
    if (errors.size() > 20) named += fmt::format(" and {} more", errors.size() - 20);
    return problem(fmt::format(
        "not recorded: {} scenario{} ended in a setup error, which says nothing about the proxy and is never an "
        "outcome to accept: {}. Fix the setup (the reasons are above) and record the baseline again",
        errors.size(), errors.size() == 1 ? "" : "s", named));
  }
  std::string out = fmt::format(
      "{{\n  \"schema\": {},\n  \"made_with\": {{\"upfault\": {}, \"proxy\": {}, \"proxy_version\": {}, \"strict\": "
      "{}}},\n  \"scenarios\": {{",
      json_quoted(kSchema), json_quoted(label_text(upfault_version)), json_quoted(label_text(proxy.name)),
      json_quoted(label_text(proxy.version)), strict);
  bool first = true;
  for (const auto& [name, outcome] : sorted) {
    out += fmt::format("{}\n    {}: {}", first ? "" : ",", json_quoted(name), json_quoted(outcome));
    first = false;
  }
  return out + (sorted.empty() ? "}\n}\n" : "\n  }\n}\n");
}

Result<Baseline> load_baseline(const std::string& path) {
  auto text = read_bounded(path, kMaxBaselineBytes);
  if (!text) return text.error().prefixed(fmt::format("--baseline: {}: ", path));
  return parse_baseline(*text, path);
}

Result<Baseline> parse_baseline(std::string_view text, std::string_view name) {
  boost::system::error_code ec;
  auto root = json::parse(text, ec);
  const auto* obj = ec ? nullptr : root.if_object();
  const auto* schema = obj ? obj->if_contains("schema") : nullptr;
  const auto* list = obj ? obj->if_contains("scenarios") : nullptr;
  if (!schema || !schema->is_string() || schema->as_string() != kSchema || !list || !list->is_object())
    return problem(fmt::format("--baseline: {} is not an upfault baseline ({}): write one with --write-baseline", name,
                               ec ? ec.message() : fmt::format("it needs schema {}", kSchema)));
  Baseline b;
  if (const auto* p = obj->if_contains("proxy"); p && p->is_string())  // an older file's label
    b.proxy = safe_text(std::string_view(p->as_string()).substr(0, kMaxLabel), false);
  if (auto made = read_made_with(*obj, name, b); !made) return made.error();
  for (const auto& [scenario, outcome] : list->as_object()) {
    if (!valid_name(scenario))
      return problem(fmt::format("--baseline: {}: \"{}\" is not a scenario name (a-z, 0-9, '-', '_', '.')", name,
                                 safe_text(std::string_view(scenario).substr(0, 80), false)));
    if (!outcome.is_string() || !valid_outcome(outcome.as_string()))
      return problem(fmt::format(
          "--baseline: {}: the outcome of {} is not one upfault records (pass, stricter, error, not-run, or "
          "\"fail: STATUS ENDING\" such as \"fail: 200 complete\"): {}",
          name, std::string_view(scenario),
          outcome.is_string()
              ? fmt::format("\"{}\"", safe_text(std::string_view(outcome.as_string()).substr(0, 80), false))
              : std::string("not a string")));
    // An older file's "not-run" recorded nothing: the scenario was not judged.
    if (outcome.as_string() != "not-run") b.outcome[std::string(scenario)] = std::string(outcome.as_string());
  }
  return b;
}

Result<void> baseline_fits(const Baseline& b, std::string_view name, bool strict) {
  if (!b.strict || *b.strict == strict) return {};
  return problem(fmt::format(
      "--baseline: {} was recorded {} --strict and this run is judged {} it: stricter verdicts would read as "
      "changes. Judge as it was recorded, or record the baseline again",
      name, *b.strict ? "with" : "without", strict ? "with" : "without"));
}

}  // namespace upfault
