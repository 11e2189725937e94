// What a cell shows, the risk class a failure counts in, and the ranking of the proxies.
#include <algorithm>
#include <cctype>
#include <tuple>

#include "upfault/matrix.hpp"

namespace upfault {

CellKind cell_kind(const ProxyColumn& column, const MatrixCell& cell) {
  if (!cell.crash.empty()) return CellKind::crash;
  switch (cell.verdict) {
    case VerdictKind::pass: return CellKind::pass;
    case VerdictKind::stricter: return CellKind::stricter;
    case VerdictKind::error: return CellKind::error;
    case VerdictKind::not_run: return CellKind::skipped;
    case VerdictKind::fail: break;
  }
  const auto* q = column.notes.explain(*cell.scenario, cell.status);
  if (!q) return CellKind::fail;
  return q->configurable ? CellKind::configured : CellKind::known;
}

std::pair<unsigned, unsigned> MatrixCell::share() const {
  unsigned of = 0, total = 0;
  for (const auto& r : runs) total += r.count, of += r.verdict == verdict ? r.count : 0;
  return {of, total};
}

namespace {

// An earlier_status check that accepts a 5xx: its codes are only in its TOML ("earlier_status =
// [204, 502]"), which the check writes itself.
bool earlier_5xx(const Check& check) {
  if (check.key() != "earlier_status") return false;
  const auto text = check.toml();
  for (std::size_t i = text.find('='); i < text.size(); ++i)
    if (text[i] == '5' && i + 2 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
        (i + 3 == text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 3]))) &&
        !std::isdigit(static_cast<unsigned char>(text[i - 1])))
      return true;
  return false;
}

}  // namespace

bool accepts_error(const Scenario& s) {
  for (const auto& o : s.expect.accept) {
    if (const auto* codes = o.statuses())
      if (std::any_of(codes->begin(), codes->end(), [](int c) { return c >= 500; })) return true;
    for (const auto& check : o.checks)
      if (check->about_ending() || earlier_5xx(*check)) return true;  // aborted, no_response
  }
  return false;
}

namespace {

// The client was told the exchange failed: the proxy's own 5xx, an aborted response, no response,
// or a connection held open with no complete response.
bool answered_with_error(const MatrixCell& c) {
  if (c.ended == "closed-early" || c.ended == "reset" || c.ended == "timed-out") return true;
  if (c.ended == "complete" && c.status && *c.status >= 500) return true;
  // The last request answered well: the failure is in an earlier answer, an error of the proxy's.
  return c.ended == "complete" && c.earlier_error;
}

}  // namespace

std::optional<Risk> failure_risk(const MatrixCell& cell) {
  const Scenario& s = *cell.scenario;
  if (!cell.crash.empty() || !answered_with_error(cell) || cell.upstream_requests > s.request.repeat) return s.risk;
  return accepts_error(s) ? Risk::wrong_error : Risk::lost_information;
}

std::size_t risk_index(std::optional<Risk> risk) { return risk ? static_cast<std::size_t>(*risk) : 3; }

std::size_t Standing::failure_count() const {
  std::size_t n = crashed.size();
  for (const auto& f : failures) n += f.size();
  return n;
}

std::size_t Standing::ran_count(const ProxyColumn& of) const {
  return of.cells.size() - static_cast<std::size_t>(not_run);
}

namespace {

// Scenario k is common when every column that ran ran it (no not-run cell): only those rank.
std::vector<bool> common_scenarios(const std::vector<ProxyColumn>& columns) {
  std::size_t n = 0;
  for (const auto& c : columns) n = std::max(n, c.cells.size());
  std::vector<bool> common(n, true);
  for (const auto& c : columns)
    if (c.skipped.empty())
      for (std::size_t k = 0; k < c.cells.size(); ++k)
        if (c.cells[k].verdict == VerdictKind::not_run) common[k] = false;
  return common;
}

}  // namespace

bool is_reference(const ProxyColumn& column) { return column.profile == "reference"; }

std::vector<Standing> rank(const std::vector<ProxyColumn>& columns) {
  const auto common = common_scenarios(columns);
  std::vector<Standing> out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const auto& col = columns[i];
    Standing s;
    s.column = i;
    s.ran = col.skipped.empty();
    s.reference = is_reference(col);
    for (std::size_t k = 0; k < col.cells.size(); ++k) {
      const auto& cell = col.cells[k];
      if (!cell.crash.empty()) ++s.crashes;
      if (cell.unstable()) s.unstable.push_back(k);
      const auto kind = cell_kind(col, cell);
      if (common[k]) {
        ++s.ranked_scenarios;
        if (kind == CellKind::pass || kind == CellKind::stricter) ++s.shipped_passed;
      }
      switch (kind) {
        case CellKind::pass:
        case CellKind::stricter: ++s.passed; break;
        case CellKind::error: s.errors.push_back(k); break;
        case CellKind::configured: s.configured.push_back(k); break;
        case CellKind::skipped: ++s.not_run; break;
        case CellKind::fail:
        case CellKind::known:
        case CellKind::crash:
          if (!common[k])
            s.unranked.push_back(k);
          else if (kind == CellKind::crash)
            s.crashed.push_back(k);
          else
            s.failures[risk_index(failure_risk(cell))].push_back(k);
          break;
      }
    }
    out.push_back(std::move(s));
  }
  auto key = [&](const Standing& s) {
    return std::make_tuple(!s.ran, s.reference, s.crashed.size(), s.failures[0].size(), s.failures[1].size(),
                           s.failures[2].size(), s.failures[3].size(), s.configured.size(),
                           columns[s.column].proxy.name);
  };
  std::stable_sort(out.begin(), out.end(), [&](const Standing& a, const Standing& b) { return key(a) < key(b); });
  return out;
}

}  // namespace upfault
