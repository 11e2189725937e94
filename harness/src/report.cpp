#include "upfault/report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "upfault/http.hpp"

namespace upfault {

namespace json = boost::json;

void Tally::add(VerdictKind k) {
  switch (k) {
    case VerdictKind::pass: ++pass; break;
    case VerdictKind::stricter: ++stricter; break;
    case VerdictKind::fail: ++fail; break;
    case VerdictKind::error: ++error; break;
  }
}

std::string Tally::line() const {
  std::string s = fmt::format("{} passed, {} failed", pass + stricter, fail + error);
  if (stricter || error) {
    std::string detail;
    if (stricter) detail += fmt::format("{} stricter than required", stricter);
    if (error) detail += fmt::format("{}{} error{}", detail.empty() ? "" : ", ", error, error == 1 ? "" : "s");
    s += fmt::format("\n({})", detail);
  }
  return s;
}

bool want_colour(std::FILE* out) {
  const char* no = std::getenv("NO_COLOR");
  return (!no || !*no) && isatty(fileno(out));
}

void print_result(std::FILE* out, const ScenarioResult& r, bool colour, bool verbose) {
  const char* code = "";
  switch (r.verdict.kind) {
    case VerdictKind::pass: code = "32"; break;
    case VerdictKind::stricter: code = "36"; break;
    case VerdictKind::fail: code = "31"; break;
    case VerdictKind::error: code = "35"; break;
  }
  std::string label = fmt::format("{:<8}", to_string(r.verdict.kind));
  for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (colour) label = fmt::format("\x1b[{}m{}\x1b[0m", code, label);
  const Scenario& s = *r.scenario;
  fmt::print(out, "{} {}/{} [{}] {}\n", label, s.category, s.name, to_string(s.level), format_millis(r.client.elapsed));
  bool show = verbose || r.verdict.kind == VerdictKind::fail || r.verdict.kind == VerdictKind::error ||
              r.verdict.kind == VerdictKind::stricter;
  if (show) fmt::print(out, "         {}\n", r.verdict.reason);
}

std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds) {
  json::object root;
  root["schema"] = "upfault-run/1";
  root["proxy"] = {{"name", proxy.name}, {"version", proxy.version}, {"url", proxy.url}};
  Tally tally;
  json::array list;
  for (const auto& r : results) {
    tally.add(r.verdict.kind);
    const Scenario& s = *r.scenario;
    json::object o;
    o["scenario"] = s.name;
    o["category"] = s.category;
    o["level"] = std::string(to_string(s.level));
    o["rfc"] = s.rfc;
    o["verdict"] = std::string(to_string(r.verdict.kind));
    o["reason"] = r.verdict.reason;
    if (r.client.response && r.client.header_complete) o["status"] = r.client.response->status;
    else o["status"] = nullptr;
    o["ended"] = std::string(to_string(r.client.ending));
    o["elapsed_ms"] = r.client.elapsed.count();
    o["bytes_received"] = r.client.raw_total;
    o["received_preview"] = printable(r.client.raw, 200);
    o["upstream"] = {{"connections", r.upstream.connections.size()}, {"requests", r.upstream.requests()}};
    list.push_back(std::move(o));
  }
  root["summary"] = {{"total", tally.total()}, {"pass", tally.pass}, {"stricter", tally.stricter},
                     {"fail", tally.fail}, {"error", tally.error}, {"wall_seconds", wall_seconds}};
  root["results"] = std::move(list);
  return json::serialize(root) + "\n";
}

}  // namespace upfault
