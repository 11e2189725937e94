// --repeat: the runs of one suite folded into one result per scenario that keeps every outcome.
#include "upfault/repeat.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace upfault {

namespace {

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A reason without its durations ("after 3 ms", "within 3.00 s", "[1.01 × read_timeout]" → "after
// #", "within #", "[# × read_timeout]"): runs that differ only in how long they took are one outcome.
std::string without_durations(std::string_view reason) {
  std::string out;
  for (std::size_t i = 0; i < reason.size();) {
    if (!digit(reason[i]) || (i > 0 && (alnum(reason[i - 1]) || reason[i - 1] == '.'))) {
      out += reason[i++];
      continue;
    }
    std::size_t j = i;
    while (j < reason.size() && (digit(reason[j]) || reason[j] == '.')) ++j;
    const auto rest = reason.substr(j);
    const std::size_t unit = rest.starts_with(" ms") ? 3 : rest.starts_with(" s") ? 2 : 0;
    if (unit && (rest.size() == unit || !alnum(rest[unit]))) {
      out += '#';
      j += unit;
    } else if (rest.starts_with(" \u00d7 ")) {  // a ratio of a timeout: the judge's timing note
      out += '#';
    } else {
      out.append(reason.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

// How bad a run is, the worst first: its verdict's severity, then, between runs of one verdict, one
// where the proxy passed a response on (complete and not a 5xx of its own, or invalid) before one
// where it answered with an error (a 5xx, an abort, nothing): the matrix ranks a failure by that.
std::pair<int, bool> badness(const ScenarioResult& r) {
  const auto& c = r.client;
  const bool passed_on =
      c.ending == Ending::invalid || (c.ending == Ending::complete && c.response && c.response->status < 500);
  return {severity(r.verdict.kind), !passed_on};
}

}  // namespace

int severity(VerdictKind k) {
  switch (k) {
    case VerdictKind::fail: return 0;
    case VerdictKind::stricter: return 1;
    case VerdictKind::pass: return 2;
    case VerdictKind::error: return 3;
    case VerdictKind::not_run: return 4;
  }
  return 5;
}

bool verdict_varied(const std::vector<RunOutcome>& runs) {
  return std::any_of(runs.begin(), runs.end(), [&](const RunOutcome& o) { return o.verdict != runs.front().verdict; });
}

std::string distribution_text(const std::vector<RunOutcome>& runs) {
  std::vector<std::pair<VerdictKind, unsigned>> by_verdict;
  unsigned total = 0;
  for (const auto& o : runs) {
    total += o.count;
    auto it = std::find_if(by_verdict.begin(), by_verdict.end(), [&](const auto& p) { return p.first == o.verdict; });
    if (it == by_verdict.end())
      by_verdict.emplace_back(o.verdict, o.count);
    else
      it->second += o.count;
  }
  std::stable_sort(by_verdict.begin(), by_verdict.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : severity(a.first) < severity(b.first);
  });
  std::string out;
  for (const auto& [verdict, n] : by_verdict)
    out += fmt::format("{}{} {}/{}", out.empty() ? "" : ", ", to_string(verdict), n, total);
  return out;
}

void RepeatedRuns::add(const std::vector<ScenarioResult>& run) {
  ++runs_;
  for (const auto& r : run) {
    auto [at, added] = index_.try_emplace(r.scenario->name, kept_.size());
    if (added) kept_.push_back({r, {}, {}});
    Kept& k = kept_[at->second];
    if (badness(r) < badness(k.shown)) k.shown = r;
    std::string key = fmt::format("{}\n{}", to_string(r.verdict.kind), without_durations(r.verdict.reason));
    std::string reason = r.verdict.reason;
    auto seen = std::find(k.keys.begin(), k.keys.end(), key);
    if (seen == k.keys.end() && k.keys.size() >= kMaxOutcomes) {
      key = fmt::format("{}\n\x01", to_string(r.verdict.kind));  // a key no reason has
      reason = fmt::format("(other reasons: more than {} distinct outcomes were seen)", kMaxOutcomes);
      seen = std::find(k.keys.begin(), k.keys.end(), key);
    }
    if (seen != k.keys.end()) {
      ++k.outcomes[static_cast<std::size_t>(seen - k.keys.begin())].count;
      continue;
    }
    k.keys.push_back(std::move(key));
    k.outcomes.push_back({r.verdict.kind, std::move(reason), 1});
  }
}

std::vector<ScenarioResult> RepeatedRuns::results() const {
  std::vector<ScenarioResult> out;
  out.reserve(kept_.size());
  for (const auto& k : kept_) {
    out.push_back(k.shown);
    if (k.outcomes.size() < 2) continue;
    auto runs = k.outcomes;
    std::stable_sort(runs.begin(), runs.end(), [](const RunOutcome& a, const RunOutcome& b) {
      return a.count != b.count ? a.count > b.count : severity(a.verdict) < severity(b.verdict);
    });
    out.back().runs = std::move(runs);
  }
  return out;
}

}  // namespace upfault
