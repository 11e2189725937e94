#include "upfault/report.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "base/util.hpp"
#include "upfault/http.hpp"
#include "upfault/verdict.hpp"

namespace upfault {

namespace json = boost::json;

void Tally::add(VerdictKind k) {
  switch (k) {
    case VerdictKind::pass: ++pass; break;
    case VerdictKind::stricter: ++stricter; break;
    case VerdictKind::fail: ++fail; break;
    case VerdictKind::error: ++error; break;
    case VerdictKind::not_run: ++not_run; break;
  }
}

void Tally::add(const ScenarioResult& r) {
  add(r.verdict.kind);
  unstable += r.unstable();
}

void Tally::add(std::string_view verdict) {
  if (verdict == "pass")
    ++pass;
  else if (verdict == "stricter")
    ++stricter;
  else if (verdict == "fail")
    ++fail;
  else if (verdict == "not-run")
    ++not_run;
  else
    ++error;  // "error", or anything a report should not hold
}

void Tally::add_row(const json::object& row) {
  add(text_of(row, "verdict"));
  if (const auto* u = row.if_contains("unstable"); u && u->is_bool() && u->as_bool()) ++unstable;
}

std::string Tally::line() const {
  std::string s = fmt::format("{} passed, {} failed", pass + stricter, fail + error);
  if (stricter || error || not_run || unstable) {
    std::string detail;
    if (stricter) detail += fmt::format("{} stricter than required", stricter);
    if (error) detail += fmt::format("{}{} error{}", detail.empty() ? "" : ", ", error, error == 1 ? "" : "s");
    if (not_run)
      detail += fmt::format("{}{} not run: they need an upstream protocol the proxy lacks", detail.empty() ? "" : ", ",
                            not_run);
    if (unstable)
      detail += fmt::format("{}{} unstable: the verdict changed from run to run, each counted as its worst run",
                            detail.empty() ? "" : "; ", unstable);
    s += fmt::format("\n({})", detail);
  }
  return s;
}

bool want_colour(std::FILE* out) {
  const char* no = std::getenv("NO_COLOR");
  return (!no || !*no) && isatty(fileno(out));
}

std::string verdict_label(const ScenarioResult& r, bool colour, bool known) {
  const char* code = "";
  switch (r.verdict.kind) {
    case VerdictKind::pass: code = "32"; break;
    case VerdictKind::stricter: code = "36"; break;
    case VerdictKind::fail: code = "31"; break;
    case VerdictKind::error: code = "35"; break;
    case VerdictKind::not_run: code = "33"; break;
  }
  if (r.unstable()) code = "93";
  if (known) code = "90";
  std::string label = fmt::format("{:<8}", known          ? "known"
                                           : r.unstable() ? "unstable"
                                                          : std::string(to_string(r.verdict.kind)));
  for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return colour ? fmt::format("\x1b[{}m{}\x1b[0m", code, label) : label;
}

std::string reason_without_name(const ScenarioResult& r) {
  std::string out = r.verdict.reason;
  const auto& name = r.scenario->name;
  for (auto at = out.find(name); at != std::string::npos; at = out.find(name, at + 1))
    out.replace(at, name.size(), "*");
  return out;
}

std::string format_result(const ScenarioResult& r, bool colour, bool verbose, bool known) {
  const std::string label = verdict_label(r, colour, known);
  const Scenario& s = *r.scenario;
  std::string out = fmt::format("{} {}/{} [{}] {}\n", label, safe_text(s.category, false), s.name, to_string(s.level),
                                format_millis(r.client.elapsed));
  if (!r.runs.empty()) {  // every outcome of --repeat, then what the worst run's note says
    unsigned total = 0;
    for (const auto& o : r.runs) total += o.count;
    out += r.unstable() ? fmt::format("         varied over {} runs: {} (counted as {}, its worst)\n", total,
                                      distribution_text(r.runs), to_string(r.verdict.kind))
                        : fmt::format("         {} {}/{}, in {} different ways:\n", to_string(r.verdict.kind), total,
                                      total, r.runs.size());
    for (const auto& o : r.runs)
      out += fmt::format("         {} {}/{}: {}\n", to_string(o.verdict), o.count, total, safe_text(o.reason));
  } else if (verbose || r.verdict.kind == VerdictKind::fail || r.verdict.kind == VerdictKind::error ||
             r.verdict.kind == VerdictKind::stricter) {
    out += fmt::format("         {}\n", safe_text(r.verdict.reason));
  }
  if (!r.note.empty()) out += fmt::format("         {}\n", safe_text(r.note));
  return out;
}

void print_result(std::FILE* out, const ScenarioResult& r, bool colour, bool verbose, bool known) {
  fmt::print(out, "{}", format_result(r, colour, verbose, known));
}

SuitePosition suite_position(const std::vector<Scenario>& whole) {
  SuitePosition p;
  p.total = whole.size();
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a over the names in order, each NUL-ended
  for (std::size_t i = 0; i < whole.size(); ++i) {
    p.index[whole[i].name] = i;
    for (char c : whole[i].name + '\0') h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  p.fingerprint = fmt::format("{:016x}", h);
  return p;
}

std::optional<VerdictKind> verdict_named(std::string_view word) {
  for (auto k : {VerdictKind::pass, VerdictKind::stricter, VerdictKind::fail, VerdictKind::error, VerdictKind::not_run})
    if (word == to_string(k)) return k;
  return std::nullopt;
}

std::optional<Ending> ending_named(std::string_view word) {
  for (auto e : {Ending::complete, Ending::closed_early, Ending::reset, Ending::timed_out, Ending::invalid,
                 Ending::connect_failed})
    if (word == to_string(e)) return e;
  return std::nullopt;
}

Result<std::pair<unsigned, unsigned>> parse_shard(std::string_view text) {
  auto number = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    if (s.empty() || s.size() > 5) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
  };
  const auto slash = text.find('/');
  auto index = slash == std::string_view::npos ? std::nullopt : number(text.substr(0, slash));
  auto count = slash == std::string_view::npos ? std::nullopt : number(text.substr(slash + 1));
  if (!index || !count || *index < 1 || *count > kMaxShards || *index > *count)
    return problem(fmt::format("takes I/N with 1 <= I <= N <= {}, e.g. 2/4; not \"{}\"", kMaxShards,
                               safe_text(text.substr(0, 64), false)));
  return std::pair{*index, *count};
}

std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds,
                    const RunRecord& record) {
  return to_json(proxy, results, wall_seconds, nullptr, &record);
}

std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds,
                    const SuitePosition* position, const RunRecord* record) {
  return json::serialize(report_object(proxy, results, wall_seconds, position, record)) + "\n";
}

namespace {

// One result's row of the report (docs/json-report.md).
json::object result_row(const ScenarioResult& r, const SuitePosition* position) {
  const Scenario& s = *r.scenario;
  json::object o;
  o["scenario"] = s.name;
  if (position)
    if (auto it = position->index.find(s.name); it != position->index.end()) o["index"] = it->second;
  o["category"] = safe_text(s.category);
  o["level"] = std::string(to_string(s.level));
  o["rfc"] = safe_text(s.rfc);
  o["summary"] = safe_text(s.summary);
  o["verdict"] = std::string(to_string(r.verdict.kind));
  o["reason"] = safe_text(r.verdict.reason);
  if (!r.note.empty()) o["note"] = safe_text(r.note);
  if (!r.runs.empty()) {
    json::array runs;
    for (const auto& run : r.runs)
      runs.push_back(
          json::object{{"verdict", to_string(run.verdict)}, {"reason", safe_text(run.reason)}, {"count", run.count}});
    o["runs"] = std::move(runs);
    o["unstable"] = r.unstable();
  }
  if (!r.proxy_crash.empty()) o["proxy_crash"] = safe_text(r.proxy_crash);
  if (!r.client.probe.empty()) o["keepalive_probe"] = safe_text(describe(r.client.probe.front()));
  if (r.client.response && r.client.header_complete)
    o["status"] = r.client.response->status;
  else
    o["status"] = nullptr;
  o["ended"] = std::string(to_string(r.client.ending));
  o["elapsed_ms"] = r.client.elapsed.count();
  o["bytes_received"] = r.client.raw_total;
  o["received_preview"] = printable(r.client.raw, 200);
  if (r.client.after_total > 0) o["after_response_preview"] = printable(r.client.after, 200);
  if (!r.client.earlier.empty()) {
    json::array earlier;
    for (const auto& e : r.client.earlier) {
      json::object o2{{"request", e.request},
                      {"status", e.header_complete ? json::value(e.response->status) : json::value(nullptr)},
                      {"ended", std::string(to_string(e.ending))}};
      if (e.after_total > 0) o2["after_response_preview"] = printable(e.after, 200);
      earlier.push_back(std::move(o2));
    }
    o["earlier"] = std::move(earlier);
    o["client_connections"] = r.client.connections;
  }
  o["upstream"] = {{"connections", r.upstream.connection_count()}, {"requests", r.upstream.requests()}};
  return o;
}

}  // namespace

json::object report_object(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds,
                           const SuitePosition* position, const RunRecord* given) {
  const RunRecord none;
  const RunRecord& record = given ? *given : none;
  json::object root;
  root["schema"] = "upfault-run/1";
  // Every string through safe_text: JSON must be valid UTF-8, whatever a directory is called.
  json::object who{
      {"name", safe_text(proxy.name)}, {"version", safe_text(proxy.version)}, {"url", safe_text(proxy.url)}};
  if (!record.profile.empty()) who["profile"] = safe_text(record.profile);
  if (!record.config.empty()) {
    json::array config;
    for (const auto& c : record.config) config.emplace_back(safe_text(c));
    who["config"] = std::move(config);
  }
  if (!record.died.empty()) who["died"] = safe_text(record.died);
  root["proxy"] = std::move(who);
  if (!record.date.empty()) root["date"] = safe_text(record.date);
  if (position) {
    root["suite"] = {{"fingerprint", position->fingerprint},
                     {"total", position->total},
                     {"shard", fmt::format("{}/{}", position->shard, position->shards)},
                     {"scenarios", position->selected},
                     {"read_timeout_ms", position->timeouts.read.count()},
                     {"connect_timeout_ms", position->timeouts.connect.count()},
                     {"strict", position->strict}};
    if (position->interrupted) root["interrupted"] = position->interrupted;
  }
  const bool repeated = position && position->repeat > 1;
  if (repeated || record.repeat > 1)
    root["repeat"] = {{"runs", repeated ? position->repeat : record.repeat},
                      {"completed", repeated ? position->repeat_completed : record.repeat_completed}};
  json::array list;
  for (const auto& r : results) list.push_back(result_row(r, position));
  root["summary"] = report_summary(list, wall_seconds);
  root["results"] = std::move(list);
  return root;
}

json::object report_summary(const json::array& results, double wall_seconds) {
  Tally t;
  for (const auto& r : results) t.add_row(r.as_object());
  json::object out{{"total", t.total()}, {"pass", t.pass},       {"stricter", t.stricter},      {"fail", t.fail},
                   {"error", t.error},   {"not_run", t.not_run}, {"wall_seconds", wall_seconds}};
  if (t.unstable) out["unstable"] = t.unstable;
  return out;
}

std::string to_junit(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds) {
  return junit_from_report(report_object(proxy, results, wall_seconds));
}

std::string to_markdown_summary(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                double wall_seconds) {
  return summary_from_report(report_object(proxy, results, wall_seconds));
}

}  // namespace upfault
