// Every shipped proxy profile starts its proxy on loopback and runs the passthrough and timing
// scenarios through it; the verdicts must match the published matrix (docs/conformance), so CI
// checks what the project publishes. Scenarios a proxy's quirks.toml marks unstable (the proxy
// answers differently from run to run) are reported, not compared.
#include <boost/json.hpp>

#include <fstream>

#include "proxy_support.hpp"
#include "upfault/matrix.hpp"

using namespace upfault;

namespace {

// Profile name → the program that must be installed.
const std::vector<std::pair<std::string, std::string>> kProfiles = {
    {"nginx", "nginx"},     {"haproxy", "haproxy"},         {"apache", "apache2"},         {"caddy", "caddy"},
    {"varnish", "varnishd"}, {"squid", "squid"},             {"trafficserver", "traffic_server"},
    {"h2o", "h2o"},          {"nghttpx", "nghttpx"},         {"lighttpd", "lighttpd"},      {"node-http-proxy", "node"},
};

std::map<std::string, std::string> published(const std::string& proxy) {
  std::ifstream in(std::string(UPFAULT_SOURCE_DIR) + "/docs/conformance/results/" + proxy + ".json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  auto root = boost::json::parse(text);
  for (const auto& r : root.as_object().at("results").as_array()) {
    const auto& o = r.as_object();
    out[std::string(o.at("scenario").as_string())] = std::string(o.at("verdict").as_string());
  }
  return out;
}

class Profile : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

}  // namespace

TEST_P(Profile, PassthroughAndTimingMatchThePublishedMatrix) {
  const auto& [name, program] = GetParam();
  UPFAULT_REQUIRE_PROXY(program);
  if (name == "node-http-proxy" && !std::ifstream(std::string(UPFAULT_SOURCE_DIR) + "/proxies/node-http-proxy/node_modules/http-proxy/package.json"))
    GTEST_SKIP() << "http-proxy is not installed (scripts/install-deps.sh --proxies runs npm install)";
  auto want = published(name);
  ASSERT_FALSE(want.empty()) << "docs/conformance/results/" << name << ".json is missing: run upfault matrix";
  std::vector<Scenario> subset;
  for (auto& s : test::corpus())
    if (s.category == "passthrough" || s.category == "timing") subset.push_back(std::move(s));
  ASSERT_GE(subset.size(), 15u);

  LoadError err;
  auto profile = find_profile(name, default_profile_dirs(), err);
  ASSERT_TRUE(profile) << err.str();
  std::string qerr;
  auto notes = load_quirks(profile->dir, qerr);
  EXPECT_EQ(qerr, "");
  SuiteOptions o;
  o.profile = profile;
  o.run.timeouts = profile->timeouts;
  o.run.jobs = 1;  // as the matrix runs it
  o.run.default_deadline = o.run.timeouts.read * 4 + Millis{2000};
  auto run = run_suite(subset, o);
  ASSERT_EQ(run.setup_error, "");
  EXPECT_FALSE(run.proxy.version.empty()) << name << " reported no version";
  ASSERT_EQ(run.results.size(), subset.size());
  for (const auto& r : run.results) {
    const auto& scenario = r.scenario->name;
    EXPECT_NE(r.verdict.kind, VerdictKind::error) << name << " " << scenario << ": " << r.verdict.reason;
    if (scenario == "ok-200-baseline") {
      EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << name << " does not route a plain request: " << r.verdict.reason;
    }
    if (notes.unstable.count(scenario)) continue;
    EXPECT_EQ(std::string(to_string(r.verdict.kind)), want[scenario])
        << name << " " << scenario << " differs from docs/conformance: " << r.verdict.reason;
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, Profile, ::testing::ValuesIn(kProfiles),
                         [](const ::testing::TestParamInfo<std::pair<std::string, std::string>>& p) {
                           std::string n = p.param.first;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });
