#pragma once
// The words the Markdown and the HTML page share: the risk classes, the ranking rule, what the
// matrix does not show, and how a cell reads.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/matrix.hpp"

namespace upfault::matrix_text {

struct RiskText {
  std::string_view id;     ///< as in a scenario file ("lost-information"), or "unclassified"
  std::string_view label;  ///< as a heading ("lost information")
  std::string_view definition;
};

inline RiskText risk_text(std::size_t index) {
  static constexpr RiskText kText[] = {
      {"desync", "desync",
       "a broken, incomplete or foreign message passed on as if it were valid, or bytes left that can answer "
       "another request: response smuggling, a truncated body taken as whole, a poisoned connection, a request "
       "replayed."},
      {"lost-information", "lost information",
       "the client does not get what the upstream validly sent: a valid response replaced by an error or altered, "
       "a 1xx dropped, a header mangled, a hop-by-hop field let through."},
      {"wrong-error", "wrong error",
       "the client is told the exchange failed, but not truly why: a timeout reported as 502, an invalid response "
       "as 503, no answer where a 502 was owed; it misleads retries, alerts and diagnosis."},
      {"unclassified", "unclassified", "failures of scenarios that name no risk."},
  };
  return kText[index < 4 ? index : 3];
}

inline constexpr std::string_view kCrashDefinition =
    "the proxy process died while handling the upstream's response (restarted for the next scenario): one upstream "
    "response takes the proxy down for every client.";

inline constexpr std::string_view kRankingRule =
    "Proxies are ranked by their failures in the most severe class first: fewest crashes (one upstream response "
    "took the proxy down, for every client), then fewest desync failures, then fewest lost-information failures, "
    "then fewest wrong-error failures. A proxy with one desync failure ranks below every proxy with none, however "
    "many wrong errors those have; one crash ranks below every proxy with none. A failure counts in its scenario's "
    "class, except where "
    "the proxy answered with an error of its own (a 5xx, an aborted response, no response at all, to the request "
    "or to an earlier one of the same scenario) and did not resend the request: it passed nothing broken on, so the "
    "failure counts as a wrong error when the upstream's "
    "response was broken or missing, and as lost information when it was valid. A crash counts as a crash only. "
    "Every level (must, should, may) counts alike. Documented deviations count; configurable defaults "
    "(failures the proxy's profile documents as its default configuration, with the setting that changes them) "
    "are listed apart and do not count, nor do harness errors. Only scenarios every proxy ran count: where a "
    "profile does not speak a scenario's upstream protocol (TLS, HTTP/2), the others' failures there are shown but "
    "not ranked, since that proxy had no chance to fail them. A cell whose verdict varied over repeated runs "
    "(upfault matrix --repeat N) counts as its worst run. Ties go to fewer configurable defaults, then to the name. "
    "Passed as shipped counts the ranked scenarios the proxy passed in its default configuration: there a "
    "configurable default is a failure, as it is in passed of ran (every scenario the proxy ran, all sections). "
    "upfault's own reference proxy is listed apart, not ranked.";

/// "What this does and does not show", one point each.
inline const std::vector<std::string_view>& limits() {
  static const std::vector<std::string_view> kLimits = {
      "One configuration per proxy: the profile's template under proxies/NAME/, with 1 s upstream timeouts, and "
      "the version Debian 12 packages. Another configuration can behave differently; the configurable defaults "
      "name the settings known to change a result.",
      "Loopback only; the client speaks HTTP/1.1 in plaintext; the upstream speaks HTTP/1.1 in plaintext or over "
      "TLS (each profile configured to verify the certificate), or HTTP/2 where the profile says it can; a proxy "
      "that cannot speak a protocol to an upstream is not tested on it, and its section says why (➖). No HTTP/3, "
      "no caching (Varnish and Squid run as pass-through proxies).",
      "A pass means the proxy did what RFC 9110 and RFC 9112 require for that one input. It is not a security "
      "review, and says nothing of other inputs, other versions or behaviour under load.",
      "Stricter means the proxy did more than the RFC requires (it rejected with 502 what it may forward): counted "
      "as a pass, shown apart, since it can break a client that relies on what the RFC allows.",
      "Timing scenarios depend on the proxy's timers (1 s timeouts, judged within 3 × the timeout + 1 s). Stability "
      "is measured, not written: a column built with upfault matrix --repeat N ran every scenario N times, and a "
      "cell whose verdict varied shows its worst verdict with how many runs gave it (fail 2/5) and each outcome in "
      "its details; a column of one run cannot tell a stable cell from one that varies.",
      "The risk classes are upfault's judgement of what a failure risks, scenario by scenario (each file's risk and "
      "rationale); read a cell's details before relying on a count.",
      "Each proxy's column is its own run, on its own day, from its results file (results/NAME.json).",
  };
  return kLimits;
}

/// A cell's word, as the page shows it.
inline std::string_view cell_word(CellKind k) {
  switch (k) {
    case CellKind::pass: return "pass";
    case CellKind::stricter: return "stricter";
    case CellKind::fail: return "fail";
    case CellKind::known: return "known";
    case CellKind::configured: return "default";
    case CellKind::error: return "error";
    case CellKind::crash: return "crash";
    case CellKind::skipped: return "not run";
  }
  return "";
}

/// " 2/5" after an unstable cell's word: how many of the runs gave the verdict shown (its worst); "".
inline std::string share_text(const MatrixCell& c) {
  if (!c.unstable()) return "";
  const auto [of, total] = c.share();
  return fmt::format(" {}/{}", of, total);
}

/// What a repeated cell's runs were ("varied over 5 runs: pass 3/5, fail 2/5", or "fail in all 5
/// runs, in 2 ways"), and each outcome ("fail 2/5: reason", or "fail 2/5: as above" for the one
/// whose reason the cell shows); empty without runs.
inline std::pair<std::string, std::vector<std::string>> runs_text(const MatrixCell& c) {
  if (c.runs.empty()) return {};
  const auto total = c.share().second;
  std::vector<std::string> each;
  for (const auto& r : c.runs)
    each.push_back(fmt::format("{} {}/{}: {}", to_string(r.verdict), r.count, total,
                               r.verdict == c.verdict && r.reason == c.reason ? "as above" : r.reason));
  if (c.unstable()) return {fmt::format("varied over {} runs: {}", total, distribution_text(c.runs)), each};
  return {fmt::format("{} in all {} runs, in {} ways", to_string(c.verdict), total, c.runs.size()), each};
}

/// A standing's note on its runs: "5 runs, 2 unstable (each counted as its worst)"; "" for one run.
inline std::string runs_note(const ProxyColumn& c, const Standing& s) {
  if (c.repeat < 2) return "";
  return fmt::format("{} runs{}", c.repeat_completed,
                     s.unstable.empty() ? ", no verdict varied"
                                        : fmt::format(", {} unstable (each counted as its worst)", s.unstable.size()));
}

inline std::string proxy_title(const ProxyColumn& c) {
  return c.proxy.version.empty() ? c.proxy.name : fmt::format("{} {}", c.proxy.name, c.proxy.version);
}

/// What the proxy did, for a failure: the verdict's reason, how the exchange ended, what it sent.
inline std::string what_happened(const MatrixCell& c) {
  return fmt::format("{} (ended: {}, {} bytes, upstream requests: {})", c.reason, c.ended.empty() ? "?" : c.ended,
                     c.bytes, c.upstream_requests);
}

/// Categories in first-seen order, each with its scenarios' indexes.
inline std::vector<std::pair<std::string, std::vector<std::size_t>>> by_category(const std::vector<Scenario>& all) {
  std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == all[i].category; });
    if (it == out.end())
      out.push_back({all[i].category, {i}});
    else
      it->second.push_back(i);
  }
  return out;
}

/// The upstream protocols' sections of the matrix: HTTP/1.1, HTTPS, HTTP/2 (h2c and h2 together).
struct ProtocolSection {
  std::string_view id;     ///< for an HTML anchor
  std::string_view title;  ///< as a heading
  std::vector<std::pair<std::string, std::vector<std::size_t>>> categories;
};

inline std::size_t section_of(UpstreamProtocol p) {
  switch (p) {
    case UpstreamProtocol::http1: return 0;
    case UpstreamProtocol::https: return 1;
    default: return 2;
  }
}

/// The suite's scenarios by section, then category (sections the suite has no scenario of are left out).
inline std::vector<ProtocolSection> by_protocol(const std::vector<Scenario>& all) {
  std::vector<ProtocolSection> out = {
      {"upstream-http1", "Upstream: HTTP/1.1 in plaintext", {}},
      {"upstream-https", "Upstream: HTTPS (HTTP/1.1 over TLS)", {}},
      {"upstream-http2", "Upstream: HTTP/2 (h2c with prior knowledge, h2 over TLS)", {}}};
  for (const auto& [category, list] : by_category(all)) {
    std::array<std::vector<std::size_t>, 3> split;
    for (auto i : list) split[section_of(all[i].protocol)].push_back(i);
    for (std::size_t s = 0; s < 3; ++s)
      if (!split[s].empty()) out[s].categories.push_back({category, split[s]});
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& s) { return s.categories.empty(); }), out.end());
  return out;
}

/// Why each proxy could not be tested on some of a section's scenarios: proxy → the distinct reasons
/// of its not-run cells there (the profile's not_tested sentence, quoting the proxy's own docs).
inline std::vector<std::pair<std::string, std::vector<std::string>>> not_tested(
    const ProtocolSection& section, const std::vector<ProxyColumn>& columns) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& c : columns) {
    std::vector<std::string> reasons;
    for (const auto& [category, list] : section.categories)
      for (auto k : list)
        if (k < c.cells.size() && c.cells[k].verdict == VerdictKind::not_run &&
            std::find(reasons.begin(), reasons.end(), c.cells[k].reason) == reasons.end())
          reasons.push_back(c.cells[k].reason);
    if (!reasons.empty()) out.push_back({c.proxy.name, std::move(reasons)});
  }
  return out;
}

/// Each standing's place: 1 + the number of proxies ranked strictly better (ties share a place;
/// the name orders them, not ranks them); 0 for the reference proxy, which has none.
inline std::vector<std::size_t> places_of(const std::vector<Standing>& ranked) {
  auto key = [](const Standing& s) {
    return std::vector<std::size_t>{s.ran ? 0u : 1u,      s.crashed.size(),     s.failures[0].size(),
                                    s.failures[1].size(), s.failures[2].size(), s.failures[3].size(),
                                    s.configured.size()};
  };
  std::vector<std::size_t> out;
  std::size_t counted = 0;  // standings with a place so far
  const Standing* previous = nullptr;
  for (const auto& s : ranked) {
    if (s.reference) {
      out.push_back(0);
      continue;
    }
    ++counted;
    out.push_back(previous && key(s) == key(*previous) ? out.back() : counted);
    previous = &s;
  }
  return out;
}

/// The line under the ranking that shows the reference proxy apart: "" when there is none.
inline std::string reference_line(const std::vector<ProxyColumn>& columns, const std::vector<Standing>& ranked) {
  for (const auto& s : ranked)
    if (s.reference && s.ran)
      return fmt::format("{} (upfault's own, not ranked): {}/{} passed", columns[s.column].proxy.name, s.passed,
                         s.ran_count(columns[s.column]));
  return "";
}

/// "44/95 (46%)": passes as shipped among the ranked scenarios.
inline std::string shipped_text(const Standing& s) {
  if (s.ranked_scenarios == 0) return "—";
  return fmt::format("{}/{} ({}%)", s.shipped_passed, s.ranked_scenarios, s.shipped_passed * 100 / s.ranked_scenarios);
}

/// The columns ran on different days (then each says its day).
inline bool several_days(const std::vector<ProxyColumn>& columns) {
  return std::any_of(columns.begin(), columns.end(),
                     [&](const ProxyColumn& c) { return !c.date.empty() && c.date != columns.front().date; });
}

/// The settings a proxy's configurable defaults name, each once.
inline std::vector<std::string> settings(const ProxyColumn& c, const std::vector<std::size_t>& cells) {
  std::vector<std::string> out;
  for (auto k : cells)
    if (const auto* q = c.notes.explain(*c.cells[k].scenario, c.cells[k].status))
      if (std::find(out.begin(), out.end(), q->setting) == out.end()) out.push_back(q->setting);
  return out;
}

}  // namespace upfault::matrix_text
