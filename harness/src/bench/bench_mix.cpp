// `upfault bench`'s mix (parsing --mix, resolving it against scenarios, the weighted schedule),
// its constant-rate pacer and its statistics.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <numeric>

#include "base/util.hpp"
#include "upfault/bench.hpp"
#include "upfault/upstream.hpp"

namespace upfault {

std::string_view to_string(BenchError e) {
  switch (e) {
    case BenchError::connect_refused: return "connect_refused";
    case BenchError::connect_timeout: return "connect_timeout";
    case BenchError::reset: return "reset";
    case BenchError::closed_before_header: return "closed_before_header";
    case BenchError::closed_mid_body: return "closed_mid_body";
    case BenchError::parse_error: return "parse_error";
    case BenchError::timeout: return "timeout";
    case BenchError::other: return "other";
  }
  return "?";
}

Result<std::vector<std::pair<std::string, unsigned>>> parse_mix(std::string_view text) {
  std::vector<std::pair<std::string, unsigned>> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return problem(fmt::format("\"{}\" is not NAME=WEIGHT (e.g. ok=90,silent=5,reset=5)", item));
    }
    unsigned w = 0;
    auto digits = item.substr(eq + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), w);
    if (ec != std::errc{} || end != digits.data() + digits.size() || w == 0 || w > 1'000'000) {
      return problem(fmt::format("\"{}\": the weight must be a whole number from 1 to 1000000", item));
    }
    std::string name(item.substr(0, eq));
    for (const auto& [n, _] : out)
      if (n == name) {
        return problem(fmt::format("\"{}\" is named twice", name));
      }
    out.emplace_back(std::move(name), w);
  }
  if (out.empty()) {
    return problem("the mix is empty");
  }
  return out;
}

namespace {

// A faulty entry's right answers, by status (bench keeps no bodies or headers): the statuses its
// accepted outcomes name. An outcome with neither a status nor a check on how the exchange ended
// takes any status: then the entry is not judged.
void judge_by_status(const Scenario& s, MixEntry& e) {
  if (e.healthy) return;
  e.judged = true;
  for (const auto& o : s.expect.accept) {
    if (const auto* codes = o.statuses()) {
      e.accepts.insert(e.accepts.end(), codes->begin(), codes->end());
      continue;
    }
    const bool ending = std::any_of(o.checks.begin(), o.checks.end(), [](const auto& c) { return c->about_ending(); });
    if (!ending) e.judged = false;
  }
  if (!e.judged) e.accepts.clear();
}

}  // namespace

std::uint64_t wrong_answers(const MixEntry& entry, const BenchStats& s) {
  std::uint64_t n = 0;
  for (const auto& [code, count] : s.status)
    if (!entry.accepted(code)) n += count;
  return n;
}

Result<std::vector<MixEntry>> resolve_mix(const std::vector<std::pair<std::string, unsigned>>& weights,
                                          const std::vector<Scenario>& known) {
  std::vector<MixEntry> out;
  for (const auto& [name, weight] : weights) {
    auto it = std::find_if(known.begin(), known.end(), [&](const Scenario& s) { return s.name == name; });
    if (it == known.end()) {
      std::vector<std::string_view> names;
      for (const auto& s : known) names.push_back(s.name);
      if (auto hint = did_you_mean(name, names))
        return problem(fmt::format("no scenario named \"{}\"; did you mean \"{}\"?", name, *hint));
      // No close name: the choices, bench's own first (those of the first directory searched).
      std::string choices;
      for (std::size_t i = 0; i < names.size() && i < 12; ++i) choices += fmt::format("{}{}", i ? ", " : "", names[i]);
      return problem(fmt::format(
          "no scenario named \"{}\"; the choices: {}{}", safe_text(name, false), choices,
          names.size() > 12 ? fmt::format(" and {} more (upfault list shows them all)", names.size() - 12) : ""));
    }
    const auto& r = it->request;
    if (r.method != "GET" || !r.body.empty() || r.repeat != 1) {
      return problem(fmt::format(
          "scenario \"{}\" sends {} with a body or repeats; upfault bench sends single GET requests", name, r.method));
    }
    const bool healthy = std::any_of(it->expect.accept.begin(), it->expect.accept.end(),
                                     [](const Outcome& o) { return o.passthrough(); });
    MixEntry entry;
    entry.name = name;
    entry.weight = weight;
    entry.target = std::string(upstream_prefix(it->endpoint, it->protocol)) + route_prefix(name) + r.path;
    entry.healthy = healthy;
    entry.protocol = std::string(to_string(it->protocol));
    judge_by_status(*it, entry);
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::size_t> mix_schedule(const std::vector<unsigned>& weights) {
  // Divide by the common factor so 90/5/5 cycles every 20 requests, not 100.
  unsigned g = 0;
  for (auto w : weights) g = std::gcd(g, w);
  std::vector<long long> w(weights.size()), current(weights.size(), 0);
  long long total = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) total += w[i] = weights[i] / g;
  std::vector<std::size_t> order;
  order.reserve(static_cast<std::size_t>(total));
  for (long long n = 0; n < total; ++n) {  // nginx's smooth weighted round-robin
    std::size_t best = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      current[i] += w[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    order.push_back(best);
  }
  return order;
}

Pacer::Slot Pacer::next(time_point now) {
  const auto intended = first_ + interval_ * static_cast<std::int64_t>(k_++);
  return {intended, std::max(now, intended)};
}

std::uint64_t BenchStats::errors_total() const {
  return std::accumulate(errors.begin(), errors.end(), std::uint64_t{0});
}

void BenchStats::merge(const BenchStats& o) {
  latency.merge(o.latency);
  responses += o.responses;
  for (auto [code, n] : o.status) status[code] += n;
  for (std::size_t i = 0; i < kBenchErrorKinds; ++i) errors[i] += o.errors[i];
  for (const auto& [msg, n] : o.other_errors) other_errors[msg] += n;
  wrong += o.wrong;
}

std::vector<std::pair<std::string, BenchStats>> stats_by_protocol(const BenchOptions& o, const BenchResult& r) {
  std::vector<std::pair<std::string, BenchStats>> out;
  for (std::size_t i = 0; i < o.mix.size() && i < r.per_entry.size(); ++i) {
    const auto& p = o.mix[i].protocol;
    if (p.empty()) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == p; });
    if (it == out.end()) it = out.insert(out.end(), {p, BenchStats{}});
    it->second.merge(r.per_entry[i]);
  }
  return out;
}

double BenchResult::requests_per_second() const {
  return seconds > 0 ? static_cast<double>(total.responses) / seconds : 0.0;
}

double BenchResult::achieved_rate() const { return send_seconds > 0 ? static_cast<double>(sent) / send_seconds : 0.0; }

}  // namespace upfault
