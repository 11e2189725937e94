// Routes (routes.hpp): every shipped routes.toml renders with ports and timeouts and nothing left
// over; the endpoint ports default to the four after the upstream's; a broken routes.toml or a
// profile naming routes nobody has is a located error. (That each snippet routes for real is
// proven by the profiles' tests, whose templates include them.)
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "upfault/proxy.hpp"
#include "upfault/routes.hpp"

using namespace upfault;
namespace fs = std::filesystem;

namespace {
const fs::path kProxies = fs::path(UPFAULT_SOURCE_DIR) / "proxies";

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("upfault-routes-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};
}  // namespace

TEST(Routes, EndpointPortsDefaultToTheFourAfterTheUpstreams) {
  auto p = with_default_endpoints({9000, 0, 0, 0, 0});
  EXPECT_EQ(p.refused, 9001);
  EXPECT_EQ(p.blackhole, 9002);
  EXPECT_EQ(p.accept_close, 9003);
  EXPECT_EQ(p.accept_reset, 9004);
  auto given = with_default_endpoints({9000, 0, 7000, 0, 0});  // a given port stays, the rest keep their place
  EXPECT_EQ(given.refused, 9001);
  EXPECT_EQ(given.blackhole, 7000);
  EXPECT_EQ(given.accept_close, 9003);
  auto any = with_default_endpoints({0, 0, 0, 0, 0});  // no upstream port: every port from the kernel
  EXPECT_EQ(any.refused, 0);
  auto top = with_default_endpoints({65533, 0, 0, 0, 0});  // no room above: from the kernel too
  EXPECT_EQ(top.refused, 0);
}

TEST(Routes, EveryShippedRoutesFileRendersCompletely) {
  const std::vector<std::string> kNamed = {"nginx", "haproxy",       "apache", "caddy",   "varnish",
                                           "squid", "trafficserver", "h2o",    "nghttpx", "lighttpd"};
  const EndpointPorts ports{41000, 41001, 41002, 41003, 41004};
  for (const auto& name : kNamed) {
    auto routes = load_routes(kProxies / name);
    ASSERT_TRUE(routes) << name << ": " << routes.error();
    ASSERT_FALSE(routes->empty()) << name << " has no routes.toml";
    auto rendered = render_routes(*routes, route_vars(ports, {}));
    ASSERT_TRUE(rendered) << name << ": " << rendered.error();
    std::string all;
    for (const auto& [placeholder, text] : *rendered) all += text;
    for (const char* port : {"41001", "41002", "41003", "41004"})
      EXPECT_NE(all.find(port), std::string::npos) << name << " routes no endpoint to port " << port;
    for (const char* prefix : {"/__refused/", "/__blackhole/", "/__accept_close/", "/__accept_reset/"})
      EXPECT_NE(all.find(prefix), std::string::npos) << name << " does not route " << prefix;
    // The profile's template uses every part, so the suite proves what `upfault routes` prints.
    auto profile = find_profile(name, {kProxies});
    ASSERT_TRUE(profile) << profile.error();
    std::string templates;
    for (const auto& t : profile->config_templates) {
      std::ifstream in(profile->dir / t);
      templates.append(std::istreambuf_iterator<char>(in), {});
    }
    for (const auto& part : *routes)
      EXPECT_NE(templates.find("{routes_" + part.name + "}"), std::string::npos)
          << name << "'s template does not include {routes_" << part.name << "}";
  }
}

TEST(Routes, ABrokenRoutesFileIsALocatedError) {
  TempDir d;
  d.write("routes.toml", "[[part]]\nname = \"Bad Name\"\nwhere = \"x\"\ntext = \"y\"\n");
  auto r = load_routes(d.path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("routes.toml:1:1: a [[part]] needs name (lower_case"), std::string::npos)
      << r.error();
  d.write("routes.toml", "[[part]]\nname = \"x\"\nwhere = \"x\"\ntext = \"y\"\nwehre = 1\n");
  r = load_routes(d.path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("routes.toml:5:1"), std::string::npos) << r.error();
  EXPECT_NE(r.error().message.find("wehre"), std::string::npos) << r.error();
}

TEST(Routes, AnUnknownPlaceholderNamesThePart) {
  auto r = render_routes({{"frontend", "here", "port {listen_prot}\n"}}, route_vars({}, {}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "routes.toml part \"frontend\": unknown placeholder {listen_prot}");
}

TEST(Routes, AProfileTakesAnotherProfilesRoutesByName) {
  TempDir d;
  d.write("my.conf.in", "{routes_locations}\n");
  d.write("profile.toml", "command = [\"true\"]\nconfig = \"my.conf.in\"\nroutes = \"nginx\"\n");
  auto p = find_profile((d.path / "profile.toml").string(), {kProxies});
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->routes.size(), 1u);
  EXPECT_EQ(p->routes.front().name, "locations");

  d.write("profile.toml", "command = [\"true\"]\nroutes = \"ngnix\"\n");
  p = find_profile((d.path / "profile.toml").string(), {kProxies});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("profile.toml:2:10: error: routes = \"ngnix\" names no profile with a routes.toml"),
            std::string::npos)
      << p.error();
  EXPECT_NE(p.error().message.find("nginx"), std::string::npos) << p.error();
}

// routes = "nginx" lends nginx's upstream protocols too (its routes reach the TLS endpoints), and
// why it lacks the others; a profile that says its own keeps them.
TEST(Routes, AProfileTakesTheUpstreamProtocolsOfTheRoutesItBorrows) {
  TempDir d;
  d.write("my.conf.in", "{routes_locations}\n");
  d.write("profile.toml", "command = [\"true\"]\nconfig = \"my.conf.in\"\nroutes = \"nginx\"\n");
  auto p = find_profile((d.path / "profile.toml").string(), {kProxies});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->upstream_protocols, (std::vector<UpstreamProtocol>{UpstreamProtocol::http1, UpstreamProtocol::https}));
  EXPECT_TRUE(p->not_tested.count(UpstreamProtocol::h2c));

  d.write("profile.toml",
          "command = [\"true\"]\nconfig = \"my.conf.in\"\nroutes = \"nginx\"\nupstream_protocols = [\"http/1.1\"]\n");
  p = find_profile((d.path / "profile.toml").string(), {kProxies});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->upstream_protocols, std::vector<UpstreamProtocol>{UpstreamProtocol::http1});
}

// A profile's config templates are checked when it loads: one that is missing, or a FIFO (which
// would block the read), is an error at the profile's `config` line, never a silent empty file.
TEST(Routes, AProfilesConfigMustBeARegularFile) {
  TempDir d;
  d.write("profile.toml", "command = [\"true\"]\nconfig = \"missing.conf.in\"\n");
  auto p = find_profile((d.path / "profile.toml").string(), {kProxies});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("profile.toml:2:10: error: config \"missing.conf.in\": cannot open the file"),
            std::string::npos)
      << p.error();
  ASSERT_EQ(::mkfifo((d.path / "fifo.conf").c_str(), 0600), 0);
  d.write("profile.toml", "command = [\"true\"]\nconfig = \"" + (d.path / "fifo.conf").string() + "\"\n");
  p = find_profile((d.path / "profile.toml").string(), {kProxies});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("not a regular file"), std::string::npos) << p.error();
}
