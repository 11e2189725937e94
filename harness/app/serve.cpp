#include <fmt/format.h>

#include "commands.hpp"
#include "options.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/rig.hpp"
#include "upfault/routes.hpp"

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
};

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
  o.threads = a.threads;
  for (auto [text, field] :
       {std::pair{&a.read_timeout, &o.timeouts.read}, std::pair{&a.connect_timeout, &o.timeouts.connect}}) {
    auto v = parse_fixed(*text);
    if (!v) {
      fmt::print(stderr, "upfault serve: {}\n", v.error().message);
      return kInputError;
    }
    *field = *v;
  }

  auto started = Rig::start(suite.scenarios, std::move(rio));
  if (!started) {
    fmt::print(stderr, "upfault serve: {}\n", started.error().message);
    return kInputError;
  }
  auto& rig = *started;
  FakeUpstream* up = &rig->upstream();
  fmt::print("upfault serve: {} scenarios on http://{}:{}\n  ({})\n", suite.scenarios.size(), hp->host, up->port(),
             describe_ports(up->ports()));
  fmt::print(
      "route a request to a scenario with the path /__upfault/NAME/, e.g.\n"
      "  curl -i http://PROXY/__upfault/{}/\n"
      "Ctrl-C stops it.\n",
      suite.scenarios.empty() ? "NAME" : suite.scenarios.front().name);
  std::fflush(stdout);
  (void)interrupt::wait();
  rig->stop();
  return interrupt::exit_status();
}

}  // namespace

void setup_serve(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the fake upstream alone, for use with curl and any proxy");
  auto a = std::make_shared<ServeArgs>();
  cmd->add_option("paths", a->paths, "Scenario files or directories (default: scenarios)");
  cmd->add_option("-l,--listen", a->listen, "Address to listen on (port 0: any)")->capture_default_str();
  add_port_options(cmd, a->ports);
  cmd->add_option("--read-timeout", a->read_timeout, "Read timeout for durations such as \"2 * read_timeout\"")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", a->connect_timeout, "Connect timeout for such durations")->capture_default_str();
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow listening outside loopback");
  cmd->add_option("-t,--threads", a->threads, "Threads serving connections, one io_context each")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  cmd->add_flag("-q,--quiet", a->quiet,
                "Log nothing per connection and keep no record of requests (for load: upfault bench, wrk)");
  cmd->callback([a, &exit_code] { exit_code = serve(*a); });
}

}  // namespace upfault::cli
