// What the console prints after the results (report.hpp): not-run groups, setup hints, a recap.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "upfault/report.hpp"
#include "upfault/scenario.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace {

// The first line of `reason`, at most `width` bytes (then "…"), never cut inside a UTF-8 character.
std::string first_line(std::string_view reason, std::size_t width) {
  std::string line(reason.substr(0, reason.find('\n')));
  if (line.size() > width) {
    std::size_t cut = width - 1;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // a continuation byte
    line = line.substr(0, cut) + "…";
  }
  return safe_text(line, false);
}

std::string scenario_label(const ScenarioResult& r) {
  return fmt::format("{}/{}", safe_text(r.scenario->category, false), r.scenario->name);
}

// The scenarios not run, one line per reason: how many, in which categories, and why.
std::string not_run_groups(const std::vector<ScenarioResult>& results, bool colour) {
  std::map<std::string, std::pair<int, std::set<std::string>>> groups;
  const ScenarioResult* any = nullptr;
  for (const auto& r : results) {
    if (r.verdict.kind != VerdictKind::not_run || !r.scenario) continue;
    auto& [count, categories] = groups[r.verdict.reason];
    ++count;
    categories.insert(safe_text(r.scenario->category, false));
    any = &r;
  }
  std::string out;
  for (const auto& [reason, group] : groups)
    out += fmt::format("{} {} scenario{} ({}): {}\n", verdict_label(*any, colour), group.first,
                       group.first == 1 ? "" : "s", fmt::join(group.second, ", "),
                       first_line(reason.starts_with("not run: ") ? reason.substr(9) : reason, 400));
  return out;
}

// True when `s` expects the proxy's own 504 (one of its outcomes is a 504 status, none a
// passthrough of the origin's response): the upstream's silence is its fault.
bool waits_for_a_timeout(const Scenario& s) {
  const auto& accept = s.expect.accept;
  return std::none_of(accept.begin(), accept.end(), [](const auto& o) { return o.passthrough(); }) &&
         std::any_of(accept.begin(), accept.end(), [](const auto& o) {
           const auto* codes = o.statuses();
           return codes && std::find(codes->begin(), codes->end(), 504) != codes->end();
         });
}

// True when `s` accepts a 500: as a status, or as the upstream's own response passed through
// (when the steps send one, or send something upfault cannot parse).
bool accepts_a_500(const Scenario& s) {
  const bool upstream_500 = !s.upstream_response || s.upstream_response->status == 500;
  return std::any_of(s.expect.accept.begin(), s.expect.accept.end(), [&](const auto& o) {
    const auto* codes = o.statuses();
    return (o.passthrough() && upstream_500) || (codes && std::find(codes->begin(), codes->end(), 500) != codes->end());
  });
}

// The lines of a proxy's log tail that report errors (nginx's [error], [crit], [alert], [emerg];
// most proxies' "error"), else its last three; each at most 240 characters.
std::vector<std::string> error_lines(const std::string& log) {
  std::vector<std::string> all, errors;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("--- ")) continue;
    if (line.size() > 240) line = line.substr(0, 239) + "…";
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool error = lower.find("error") != std::string::npos || lower.find("[crit]") != std::string::npos ||
                       lower.find("[alert]") != std::string::npos || lower.find("[emerg]") != std::string::npos ||
                       lower.find("fatal") != std::string::npos;
    (error ? errors : all).push_back(safe_text(line, false));
  }
  if (!errors.empty()) return errors;
  if (all.size() > 3) all.erase(all.begin(), all.end() - 3);
  return all;
}

// The proxy's own 500s: no upstream fault calls for one (a gateway answers 502 or 504), so a 500
// where the scenario does not accept one is the proxy failing on its own, as a misconfigured one
// does; its error log says why more often than the verdict can.
std::string own_errors(const std::vector<ScenarioResult>& results, const std::string& proxy_log) {
  std::vector<std::string> names;
  for (const auto& r : results)
    if (r.scenario && r.client.response && r.client.response->status == 500 && !accepts_a_500(*r.scenario))
      names.push_back(r.scenario->name);
  if (names.empty()) return "";
  const std::size_t shown = std::min<std::size_t>(names.size(), 3);
  std::string out = fmt::format(
      "hint: the proxy answered 500 to {} scenario{} ({}{}) whose upstream sent no 500: an error of its "
      "own, as a misconfigured proxy answers (a temp dir it cannot write, a module missing){}\n",
      names.size(), names.size() == 1 ? "" : "s",
      fmt::join(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
      names.size() > shown ? ", …" : "", proxy_log.empty() ? "; see its error log" : "; its log says:");
  for (const auto& line : error_lines(proxy_log)) out += "      " + line + "\n";
  return out;
}

}  // namespace

std::string setup_hints(const std::vector<ScenarioResult>& results, const ProxyTimeouts& declared,
                        const std::string& proxy_log) {
  // A 504 in a timeout scenario, for a request the upstream received, is the proxy's read timeout.
  // Far below the declared one, or far beyond it (past any retry), the declared timeout is not the
  // proxy's.
  std::vector<Millis> early, late;
  for (const auto& r : results) {
    if (!r.scenario || !r.client.response || r.client.response->status != 504 || r.upstream.requests() == 0 ||
        !waits_for_a_timeout(*r.scenario))
      continue;
    const Millis at = r.client.first_byte.value_or(r.client.elapsed);
    if (at < declared.read / 2) early.push_back(at);
    if (at > 3 * std::max(declared.read, declared.connect) + Millis{1000}) late.push_back(at);
  }
  std::string out;
  auto hint = [&](std::vector<Millis>& times, std::string_view which) {
    if (times.empty()) return;
    std::sort(times.begin(), times.end());
    const auto span = times.front() == times.back()
                          ? format_millis(times.front())
                          : fmt::format("{} to {}", format_millis(times.front()), format_millis(times.back()));
    out += fmt::format(
        "hint: {} response{} 504 after {}, {} the declared --read-timeout {}: the proxy's own upstream "
        "read timeout seems to be another; give it with --read-timeout, or the timing scenarios are "
        "judged against the wrong bound\n",
        times.size(), times.size() == 1 ? " was" : "s were", span, which, format_millis(declared.read));
  };
  hint(early, "well before");
  hint(late, "far beyond");
  return out + own_errors(results, proxy_log);
}

std::string console_recap(const std::vector<ScenarioResult>& results, const ProxyTimeouts& declared, bool failures,
                          bool colour, const std::string& proxy_log) {
  std::string out = not_run_groups(results, colour) + setup_hints(results, declared, proxy_log);
  if (!failures) return out;
  std::vector<const ScenarioResult*> red;
  for (const auto& r : results)
    if (r.scenario && (r.verdict.kind == VerdictKind::fail || r.verdict.kind == VerdictKind::error)) red.push_back(&r);
  if (red.empty()) return out;
  std::sort(red.begin(), red.end(), [](const ScenarioResult* a, const ScenarioResult* b) {
    return std::pair(a->scenario->category, a->scenario->name) < std::pair(b->scenario->category, b->scenario->name);
  });
  const auto judged = std::count_if(results.begin(), results.end(),
                                    [](const ScenarioResult& r) { return r.verdict.kind != VerdictKind::not_run; });
  out += fmt::format("\n{} of {} scenarios judged failed or could not be judged:\n", red.size(), judged);
  // Errors whose reasons are alike but for the scenario's name and times (a setup error, a crash
  // repeated over a category) are one line, at the place of the first, with how many and which.
  // A failure is a finding about its own scenario: it keeps its line.
  std::map<std::pair<VerdictKind, std::string>, std::vector<const ScenarioResult*>> alike;
  std::vector<std::pair<VerdictKind, std::string>> order;
  static const std::regex kTime(R"(\b\d+(\.\d+)? (ms|s)\b)");
  for (const auto* r : red) {
    std::string key = std::regex_replace(reason_without_name(*r), kTime, "T");
    if (r->verdict.kind != VerdictKind::error) key = r->scenario->name + "\n" + key;  // never grouped
    auto& group = alike[{r->verdict.kind, key}];
    if (group.empty()) order.emplace_back(r->verdict.kind, key);
    group.push_back(r);
  }
  for (const auto& k : order) {
    const auto& group = alike[k];
    const auto& first = *group.front();
    if (group.size() == 1) {
      out += fmt::format("{} {}: {}\n", verdict_label(first, colour), scenario_label(first),
                         first_line(first.verdict.reason, 160));
      continue;
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < group.size() && i < 3; ++i) names.push_back(scenario_label(*group[i]));
    out += fmt::format("{} {} scenarios ({}{}), each: {}\n", verdict_label(first, colour), group.size(),
                       fmt::join(names, ", "), group.size() > 3 ? ", …" : "", first_line(first.verdict.reason, 160));
  }
  return out;
}

}  // namespace upfault
