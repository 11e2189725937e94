#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include "commands.hpp"
#include "options.hpp"

#include "upfault/interrupt.hpp"
#include "upfault/proxy.hpp"
#include "upfault/rig.hpp"
#include "upfault/routes.hpp"
#include "upfault/tls.hpp"

namespace upfault::cli {

namespace {

struct ServeArgs {
  std::vector<std::string> paths;
  std::string listen = "127.0.0.1:0";
  EndpointPorts ports;
  std::string read_timeout = "1s";
  std::string connect_timeout = "1s";
  bool allow_remote = false;
  bool quiet = false;
  unsigned threads = 1;
  std::string tls_dir;
  std::size_t max_connections = FakeUpstream::Options{}.max_connections;
  std::size_t max_handshakes = FakeUpstream::Options{}.max_handshakes;
  std::string handshake_timeout = "5s";
};

// Where the CA the TLS ports' certificates come from is, for the user's proxy to trust: --tls-dir's,
// or one written for this run only into `temp` (removed when serve ends).
Result<std::string> ca_for_proxy(const std::string& tls_dir, std::filesystem::path& temp) {
  auto kept = apply_tls_dir(tls_dir, /*or_default=*/true);
  if (!kept || !kept->empty()) return kept;  // without a home: a CA for this run only, in `temp`
  auto dir = make_temp_dir("upfault-ca-");
  if (!dir) return dir.error();
  temp = *dir;
  auto pem = tls::ca_pem();
  if (!pem) return pem.error();
  std::ofstream(temp / "ca.pem") << *pem;
  return (temp / "ca.pem").string();
}

int serve(const ServeArgs& a) {
  auto suite = load_suite(a.paths, {});
  if (!suite.errors.empty()) return kInputError;
  auto hp = parse_loopback_address(a.listen, a.allow_remote, /*allow_any_port=*/true);
  if (!hp) {
    fmt::print(stderr, "upfault serve: --listen: {}\n", hp.error().message);
    return kInputError;
  }
  RigOptions rio;  // no proxy: the fake upstream stands alone
  FakeUpstream::Options& o = rio.upstream;
  o.host = hp->host;
  o.ports = a.ports;
  // The port comes from --listen or --upstream-port (the name run and matrix use): both, differing, is a mistake.
  if (hp->port != 0 && a.ports.scripted != 0 && hp->port != a.ports.scripted) {
    fmt::print(stderr, "upfault serve: --listen says port {} and --upstream-port {}: give one\n", hp->port,
               a.ports.scripted);
    return kInputError;
  }
  if (hp->port != 0) o.ports.scripted = hp->port;
  o.ports = with_default_endpoints(o.ports);  // P+1…P+4, as `upfault routes` prints them
  o.verbose = !a.quiet;
  o.keep_logs = !a.quiet;
  o.tls_resumption = true;
  o.h2_multiplex = true;
  o.threads = a.threads;
  o.max_connections = a.max_connections;
  o.max_handshakes = a.max_handshakes;
  for (auto [text, field] :
       {std::pair{&a.read_timeout, &o.timeouts.read}, std::pair{&a.connect_timeout, &o.timeouts.connect},
        std::pair{&a.handshake_timeout, &o.handshake_timeout}}) {
    auto v = parse_fixed(*text);
    if (!v) {
      fmt::print(stderr, "upfault serve: {}\n", v.error().message);
      return kInputError;
    }
    *field = *v;
  }
  if (o.handshake_timeout.count() <= 0) {
    fmt::print(stderr, "upfault serve: --handshake-timeout must be more than 0\n");
    return kInputError;
  }

  std::filesystem::path temp_ca;
  auto ca = ca_for_proxy(a.tls_dir, temp_ca);
  if (!ca) {
    fmt::print(stderr, "upfault serve: {}\n", ca.error().message);
    return kInputError;
  }
  auto started = Rig::start(suite.scenarios, std::move(rio));
  if (!started) {
    fmt::print(stderr, "upfault serve: {}\n", started.error().message);
    return kInputError;
  }
  auto& rig = *started;
  FakeUpstream* up = &rig->upstream();
  fmt::print("upfault serve: {} scenarios on http://{}\n  ({})\n", suite.scenarios.size(),
             authority(hp->host, up->port()), describe_ports(up->ports(), hp->host));
  // The example names a scenario as a proxy must pass it on: behind its endpoint's or protocol's prefix.
  const auto example =
      suite.scenarios.empty()
          ? std::string("/__upfault/NAME")
          : std::string(upstream_prefix(suite.scenarios.front().endpoint, suite.scenarios.front().protocol)) +
                route_prefix(suite.scenarios.front().name);
  fmt::print(
      "route a request to a scenario with the path /__upfault/NAME/ (behind /__tls/, /__h2c/, ... as its "
      "endpoint or protocol needs), e.g.\n"
      "  curl -i http://PROXY{}/\n"
      "the TLS ports' certificates are for {}, localhost and 127.0.0.1, from the CA {}{}\n"
      "Ctrl-C stops it.\n",
      example, tls::kServerName, *ca,
      temp_ca.empty() ? "" : " (for this run only: no home directory to keep one in; --tls-dir DIR keeps one)");
  std::fflush(stdout);
  (void)interrupt::wait();
  rig->stop();
  std::error_code ec;
  if (!temp_ca.empty()) std::filesystem::remove_all(temp_ca, ec);
  return interrupt::exit_status();
}

}  // namespace

void setup_serve(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the fake upstream alone, for use with curl and any proxy");
  auto a = std::make_shared<ServeArgs>();
  cmd->add_option("paths", a->paths, "Scenario files or directories (default: scenarios)");
  cmd->add_option("-l,--listen", a->listen, "Address to listen on (port 0: any)")->capture_default_str();
  add_port_options(cmd, a->ports);
  add_tls_dir_option(cmd, a->tls_dir);
  cmd->add_option("--read-timeout", a->read_timeout, "Read timeout for durations such as \"2 * read_timeout\"")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", a->connect_timeout, "Connect timeout for such durations")->capture_default_str();
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow listening outside loopback");
  cmd->add_option("-t,--threads", a->threads, "Threads serving connections, one io_context each")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  cmd->add_option("--max-connections", a->max_connections,
                  "Connections open at once, over all ports; at the cap new ones wait in the kernel's accept queue")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  cmd->add_option("--max-handshakes", a->max_handshakes,
                  "TLS handshakes in progress at once; at the cap the TLS ports stop accepting until one ends")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  cmd->add_option("--handshake-timeout", a->handshake_timeout,
                  "A TLS handshake not done this long after the accept is given up and the connection closed")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", a->quiet,
                "Log nothing per connection and keep no record of requests (for load: upfault bench, wrk)");
  cmd->callback([a, &exit_code] { exit_code = serve(*a); });
}

}  // namespace upfault::cli
