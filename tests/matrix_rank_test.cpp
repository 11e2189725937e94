// What the page ranks first and what it shows apart: a crash above desync, the reference proxy
// not ranked, the pass rate as shipped, and FINDINGS.md (every crash and desync, reproducible).
#include <gtest/gtest.h>

#include "support.hpp"
#include "upfault/matrix.hpp"

using namespace upfault;

namespace {

const std::string kSteps = "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\nresponse = { status = 200 }\n";

Scenario scenario(const std::string& name, const std::string& risk, const std::string& extra) {
  return test::scenario("name = \"" + name + "\"\nsummary = \"s of " + name +
                            "\"\nrfc = \"RFC 9112 §6.3\"\nlevel = \"must\"\nrisk = \"" + risk + "\"\n" + extra +
                            kSteps + "[expect]\nstatus = 502\n",
                        "framing");
}

std::vector<Scenario> suite() {
  return {scenario("broken", "desync", ""), scenario("silent", "wrong-error", ""),
          scenario("over-tls", "desync", "[upstream]\nprotocol = \"https\"\n")};
}

ProxyColumn column(const std::string& name, const std::vector<Scenario>& all) {
  ProxyColumn c;
  c.proxy.name = name;
  c.proxy.version = "1.0";
  for (const auto& s : all) {
    MatrixCell m;
    m.scenario = &s;
    m.verdict = VerdictKind::pass;
    m.status = 502;
    m.ended = "complete";
    m.upstream_requests = 1;
    c.cells.push_back(m);
  }
  return c;
}

void fail(ProxyColumn& c, std::size_t k, std::optional<int> status, std::string crash = "") {
  c.cells[k].verdict = VerdictKind::fail;
  c.cells[k].status = status;
  c.cells[k].reason = "framing passed on as 200";
  c.cells[k].crash = std::move(crash);
  if (!c.cells[k].crash.empty()) c.cells[k].ended = "reset";
}

std::vector<std::string> order(const std::vector<ProxyColumn>& columns) {
  std::vector<std::string> out;
  for (const auto& s : rank(columns)) out.push_back(columns[s.column].proxy.name);
  return out;
}

}  // namespace

// One crash ranks below any number of desyncs: it takes the proxy down for every client. A crash
// counts as a crash, not also in its scenario's class.
TEST(MatrixRank, ACrashRanksBelowEveryDesync) {
  const auto all = suite();
  auto crashes = column("a-crashes", all);
  fail(crashes, 1, std::nullopt, "killed by signal 11");
  auto desyncs = column("b-desyncs", all);
  fail(desyncs, 0, 200);
  EXPECT_EQ(order({crashes, desyncs}), (std::vector<std::string>{"b-desyncs", "a-crashes"}));
  const auto ranked = rank({crashes, desyncs});
  EXPECT_EQ(ranked[1].crashed, (std::vector<std::size_t>{1}));
  EXPECT_EQ(ranked[1].failure_count(), 1u) << "counted once";
  EXPECT_TRUE(ranked[1].failures[0].empty() && ranked[1].failures[2].empty());
  const auto md = matrix_markdown(all, {crashes, desyncs}, "2026-01-01");
  EXPECT_NE(md.find("| rank | proxy | crash | desync |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | b-desyncs 1.0 | 0 | 1 | 0 | 0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | a-crashes 1.0 | 1 | 0 | 0 | 0 |"), std::string::npos) << md;
  const auto html = matrix_html(all, {crashes, desyncs}, "2026-01-01");
  EXPECT_NE(html.find("<th>crash</th><th>desync</th>"), std::string::npos);
  EXPECT_NE(html.find("data-label=\"crash\"><details><summary class=\"risk crash\">1</summary>"), std::string::npos)
      << html;
}

// upfault's own proxy is listed apart, under the table, with no place; the others' places start at 1.
TEST(MatrixRank, TheReferenceIsShownApartNotRanked) {
  const auto all = suite();
  auto reference = column("reference", all);
  reference.profile = "reference";
  auto other = column("other", all);
  fail(other, 0, 200);
  const auto ranked = rank({reference, other});
  EXPECT_EQ(ranked[0].column, 1u) << "the reference comes after every ranked proxy";
  EXPECT_TRUE(ranked[1].reference);
  const auto md = matrix_markdown(all, {reference, other}, "2026-01-01");
  EXPECT_NE(md.find("| 1 | other 1.0 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("| reference 1.0 |"), std::string::npos) << "not a row of the ranking\n" << md;
  EXPECT_EQ(md.find("| 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("\nreference (upfault's own, not ranked): 3/3 passed\n"), std::string::npos) << md;
  EXPECT_NE(md.find("### reference 1.0 (upfault's own, not ranked)"), std::string::npos) << md;
  const auto html = matrix_html(all, {reference, other}, "2026-01-01");
  EXPECT_EQ(html.find("data-proxy=\"reference\" data-rank"), std::string::npos) << html;
  EXPECT_NE(html.find("reference (upfault&#39;s own, not ranked): 3/3 passed"), std::string::npos) << html;
}

// Beside the ranking, the pass rate as shipped: over the scenarios every proxy ran, a configurable
// default counts as a failure, though it does not count in the ranking.
TEST(MatrixRank, PassedAsShippedCountsConfigurableDefaultsAsFailures) {
  const auto all = suite();
  auto shipped = column("shipped", all);
  fail(shipped, 1, 503);
  shipped.notes.quirks.push_back({{"silent"}, 503, "503 for all", "https://example.org", "503", true, "use 502"});
  auto plain = column("plain", all);
  plain.cells[2].verdict = VerdictKind::not_run;
  const auto ranked = rank({shipped, plain});
  const auto& s = ranked[0].column == 0 ? ranked[0] : ranked[1];
  EXPECT_EQ(s.failure_count(), 0u) << "not ranked";
  EXPECT_EQ(s.shipped_passed, 1);
  EXPECT_EQ(s.ranked_scenarios, 2) << "over-tls: not every proxy ran it";
  const auto md = matrix_markdown(all, {shipped, plain}, "2026-01-01");
  EXPECT_NE(md.find("passed as shipped (ranked scenarios, defaults fail) | passed of ran (all sections) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 1 (use 502) | 1/2 (50%) | 2/3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| — | 2/2 (100%) | 2/2 |"), std::string::npos) << md;
  const auto html = matrix_html(all, {shipped, plain}, "2026-01-01");
  EXPECT_NE(html.find("data-label=\"passed as shipped\">1/2 (50%)</td>"), std::string::npos) << html;
}

// FINDINGS.md: every crash and every desync-class failure (and nothing else), each with what
// happened and a reproduction: upfault serve, the config line pointing at it, one curl.
TEST(MatrixRank, FindingsListEveryCrashAndDesyncWithAReproduction) {
  const auto all = suite();
  auto p = column("nginx", all);
  p.profile = "nginx";
  p.config = {"nginx.conf.in"};
  p.config_text = {{"nginx.conf.in", "http {\n    upstream scripted { server 127.0.0.1:{upstream_port}; }\n}\n"},
                   {"routes.toml", "text = \"proxy_pass https://127.0.0.1:{tls_port};\"\n"}};
  fail(p, 0, 200);
  fail(p, 1, std::nullopt, "killed by signal 11");
  auto wrong = column("wrong-only", all);
  fail(wrong, 1, 503);
  const auto f = matrix_findings(all, {p, wrong}, "2026-01-01");
  EXPECT_NE(f.find("#### desync: framing/broken"), std::string::npos) << f;
  EXPECT_NE(f.find("#### crash: framing/silent"), std::string::npos) << f;
  EXPECT_NE(f.find("(RFC 9112 §6.3, must, risk desync)"), std::string::npos) << f;
  EXPECT_NE(f.find("- **what happened**: framing passed on as 200"), std::string::npos) << f;
  EXPECT_NE(f.find("- **the proxy crashed**: killed by signal 11"), std::string::npos) << f;
  EXPECT_NE(f.find("upfault serve --upstream-port 8080"), std::string::npos) << f;
  EXPECT_NE(f.find("proxies/nginx/nginx.conf.in, with {upstream_port} = 8080:\n    upstream scripted { server "
                   "127.0.0.1:8080; }"),
            std::string::npos)
      << f;
  EXPECT_NE(f.find("curl -sv 'http://PROXY/__upfault/broken/'"), std::string::npos) << f;
  EXPECT_NE(f.find("## 1. wrong-only 1.0\n\n0 crashes, 0 desyncs."), std::string::npos)
      << "a wrong error is not a finding\n"
      << f;
  EXPECT_NE(f.find("1 crash, 1 desync."), std::string::npos) << f;
  // A scenario over TLS: its prefix and the TLS port's line.
  auto tls = column("nginx", all);
  tls.profile = "nginx";
  tls.config_text = p.config_text;
  fail(tls, 2, 200);
  const auto t = matrix_findings(all, {tls}, "2026-01-01");
  EXPECT_NE(t.find("curl -sv 'http://PROXY/__tls/__upfault/over-tls/'"), std::string::npos) << t;
  EXPECT_NE(t.find("proxies/nginx/routes.toml, with {tls_port} = "), std::string::npos) << t;
  const auto md = matrix_markdown(all, {p}, "2026-01-01");
  EXPECT_NE(md.find("[FINDINGS.md](FINDINGS.md)"), std::string::npos);
  EXPECT_NE(matrix_html(all, {p}, "2026-01-01").find("href=\"FINDINGS.md\""), std::string::npos);
}

// Over h2c the plain port serves HTTP/2 as well: the findings quote the line that says h2.
TEST(MatrixRank, FindingsQuoteTheH2cLineForAnH2cScenario) {
  const std::vector<Scenario> all = {scenario("over-h2c", "desync", "[upstream]\nprotocol = \"h2c\"\n")};
  auto p = column("haproxy", all);
  p.profile = "haproxy";
  p.config_text = {{"haproxy.cfg.in", "    server upstream 127.0.0.1:{upstream_port}\n"},
                   {"routes.toml", "    server upstream 127.0.0.1:{upstream_port} proto h2\n"}};
  fail(p, 0, 200);
  const auto f = matrix_findings(all, {p}, "2026-01-01");
  EXPECT_NE(f.find("routes.toml, with {upstream_port} = 8080:\n    server upstream 127.0.0.1:8080 proto h2"),
            std::string::npos)
      << f;
  EXPECT_NE(f.find("curl -sv 'http://PROXY/__h2c/__upfault/over-h2c/'"), std::string::npos) << f;
}
