// docs/conformance/FINDINGS.md: every crash and every desync-class failure, per proxy, each with
// what happened and a reproduction a maintainer runs without upfault's runner: `upfault serve`,
// the profile's config line that points the proxy at it, and one curl.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "matrix/matrix_text.hpp"
#include "upfault/matrix.hpp"
#include "upfault/routes.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace {

using namespace matrix_text;

// The port `upfault serve --upstream-port` is shown with; the others follow it (P+1, …).
constexpr std::uint16_t kServePort = 8080;

// The template variable that holds the port the scenario's upstream listens on, and that port.
std::pair<std::string, std::uint16_t> upstream_port(const Scenario& s) {
  EndpointPorts ports;
  ports.scripted = kServePort;
  ports = with_default_endpoints(ports);
  const auto name = port_name(s.endpoint, s.protocol);
  for (const auto& f : endpoint_port_fields())
    if (!name.empty() && f.name == name) {
      std::string var(f.name);
      std::replace(var.begin(), var.end(), '-', '_');
      return {var + "_port", ports.*f.port};
    }
  return {"upstream_port", ports.scripted};
}

// The line of the profile's config (or routes.toml) that points the proxy at the scenario's port,
// with the port filled in: "file, …:\n    line"; "" when the profile's files are not at hand. Over
// h2c the plain port serves HTTP/2 too: the line that says h2 is the one.
std::string config_line(const ProxyColumn& c, const Scenario& s) {
  const auto [var, port] = upstream_port(s);
  const auto placeholder = "{" + var + "}";
  const bool h2c = s.protocol == UpstreamProtocol::h2c;
  for (const bool picky : {h2c, false})
    for (const auto& [file, text] : c.config_text)
      for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + 1)) {
        const auto newline = text.rfind('\n', at);
        const auto begin = newline == std::string::npos ? 0 : newline + 1;
        auto line = text.substr(begin, std::min(text.find('\n', at), text.size()) - begin);
        if (picky && line.find("h2") == std::string::npos) continue;
        for (auto p = line.find(placeholder); p != std::string::npos; p = line.find(placeholder))
          line.replace(p, placeholder.size(), std::to_string(port));
        line.erase(0, line.find_first_not_of(" \t"));
        return fmt::format("proxies/{}/{}, with {} = {}:\n    {}", c.profile, file, placeholder, port, line);
      }
  return "";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// One curl that sends the scenario's request through the proxy, as upfault's client does.
std::string curl(const Scenario& s) {
  const auto& r = s.request;
  std::string out = "curl -sv";
  if (r.method != "GET" || !r.body.empty()) out += " -X " + shell_quote(r.method);
  for (const auto& h : r.headers) out += " -H " + shell_quote(h.first + ": " + h.second);
  if (!r.body.empty()) out += " --data-binary " + shell_quote(r.body);
  const auto url = fmt::format("http://PROXY{}/__upfault/{}{}", upstream_prefix(s.endpoint, s.protocol), s.name,
                               r.path.empty() || r.path.front() != '/' ? "/" + r.path : r.path);
  for (int i = 0; i < std::max(1, r.repeat); ++i) out += " " + shell_quote(url);
  return out;
}

std::string finding(const ProxyColumn& c, const MatrixCell& cell, bool crashed) {
  const auto& s = *cell.scenario;
  std::string out = fmt::format("\n#### {}: {}/{}\n\n- **scenario**: {} ({}, {}{})\n- **what happened**: {}\n",
                                crashed ? "crash" : "desync", s.category, s.name, markdown_escape(s.summary), s.rfc,
                                to_string(s.level), s.risk ? fmt::format(", risk {}", to_string(*s.risk)) : "",
                                markdown_escape(what_happened(cell)));
  if (crashed) out += fmt::format("- **the proxy crashed**: {}\n", markdown_escape(cell.crash));
  if (const auto* q = c.notes.explain(s, cell.status))
    out += fmt::format("- **{}**: {}{}\n", q->configurable ? "configurable default" : "documented deviation",
                       markdown_escape(q->summary),
                       q->configurable ? fmt::format(" (to change it: {})", markdown_escape(q->setting)) : "");
  if (const auto [head, each] = runs_text(cell); !head.empty()) out += fmt::format("- **runs**: {}\n", head);
  out += fmt::format(
      "\nTo reproduce (PROXY is the proxy's listening address):\n\n```sh\nupfault serve "
      "--upstream-port {}   # the fake upstream; it runs only the scenario its path names\n",
      kServePort);
  if (const auto line = config_line(c, s); !line.empty())
    out += "# the proxy's config: " + line + "\n";
  else if (!c.profile.empty())
    out +=
        fmt::format("# the proxy's config: proxies/{}/, pointed at 127.0.0.1:{}\n", c.profile, upstream_port(s).second);
  if (s.request.repeat > 1)
    out +=
        fmt::format("# upfault sends the request {} times ({})\n", s.request.repeat, to_string(s.request.connections));
  return out + curl(s) + "\n```\n";
}

}  // namespace

std::string matrix_findings(const std::vector<Scenario>& scenarios, const std::vector<ProxyColumn>& columns,
                            const std::string& date) {
  std::string out = fmt::format(
      "# Findings: crashes and desyncs\n\nEvery crash (one upstream response took the proxy down, for every "
      "client) and every desync-class failure (a broken, incomplete or foreign message passed on as valid) of the "
      "[conformance matrix](README.md), per proxy, in the order of its ranking: {} scenarios, built {} by `upfault "
      "matrix` from the results files. Each says what happened and how to see it again without upfault's runner: "
      "`upfault serve` alone as the upstream, the proxy pointed at it, one curl through the proxy.\n",
      scenarios.size(), date);
  const auto ranked = rank(columns);
  const auto places = places_of(ranked);
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& st = ranked[i];
    const auto& c = columns[st.column];
    if (!st.ran) continue;
    std::string body;
    std::size_t crashes = 0, desyncs = 0;
    for (const auto& cell : c.cells) {
      const auto kind = cell_kind(c, cell);
      const bool crashed = kind == CellKind::crash;
      const bool failed = crashed || kind == CellKind::fail || kind == CellKind::known || kind == CellKind::configured;
      if (!failed || (!crashed && failure_risk(cell) != Risk::desync)) continue;
      (crashed ? crashes : desyncs) += 1;
      body += finding(c, cell, crashed);
    }
    const auto title = st.reference ? fmt::format("{} (upfault's own, not ranked)", proxy_title(c))
                                    : fmt::format("{}. {}", places[i], proxy_title(c));
    out += fmt::format("\n## {}\n\n{} crash{}, {} desync{}.\n", markdown_escape(title), crashes,
                       crashes == 1 ? "" : "es", desyncs, desyncs == 1 ? "" : "s");
    out += body;
  }
  return out;
}

}  // namespace upfault
