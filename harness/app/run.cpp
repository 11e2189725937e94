#include <fmt/format.h>

#include <chrono>
#include <fstream>

#include "commands.hpp"
#include "options.hpp"
#include "upfault/proxy.hpp"
#include "upfault/report.hpp"
#include "upfault/runner.hpp"
#include "upfault/upstream.hpp"

namespace upfault::cli {

namespace {

struct RunArgs {
  std::vector<std::string> paths;
  std::vector<std::string> filters;
  std::string proxy;
  std::string proxy_url;
  std::uint16_t upstream_port = 0;
  std::uint16_t refused_port = 0;
  std::string read_timeout;
  std::string connect_timeout;
  unsigned jobs = 64;
  std::string deadline;
  std::string json;
  bool allow_remote = false;
  bool verbose = false;
  bool quiet = false;
};

int run(const RunArgs& a) {
  auto suite = load_suite(a.paths, a.filters);
  int input_status = suite.errors.empty() ? kPassed : kInputError;
  if (suite.scenarios.empty()) {
    fmt::print(stderr, "upfault run: no scenario to run\n");
    return kInputError;
  }
  if (a.proxy.empty() == a.proxy_url.empty()) {
    fmt::print(stderr, "upfault run: give either --proxy NAME (upfault starts it) or --proxy-url URL\n");
    return kInputError;
  }

  ProxyTimeouts timeouts;
  std::optional<ProxyProfile> profile;
  if (!a.proxy.empty()) {
    LoadError err;
    profile = find_profile(a.proxy, default_profile_dirs(), err);
    if (!profile) {
      fmt::print(stderr, "upfault run: {}\n", err.str());
      return kInputError;
    }
    timeouts = profile->timeouts;
  }
  std::string err;
  for (auto [text, field] : {std::pair{&a.read_timeout, &timeouts.read}, std::pair{&a.connect_timeout, &timeouts.connect}}) {
    if (text->empty()) continue;
    auto v = parse_fixed(*text, err);
    if (!v) {
      fmt::print(stderr, "upfault run: {}\n", err);
      return kInputError;
    }
    *field = *v;
  }
  if (profile) profile->timeouts = timeouts;

  FakeUpstream::Options uo;
  uo.port = a.upstream_port;
  uo.refused_port = a.refused_port;
  uo.timeouts = timeouts;
  uo.verbose = a.verbose;
  std::optional<FakeUpstream> upstream;
  try {
    upstream.emplace(uo);
  } catch (const std::exception& e) {
    fmt::print(stderr, "upfault run: cannot listen on 127.0.0.1:{}: {}\n", a.upstream_port, e.what());
    return kInputError;
  }
  for (const auto& s : suite.scenarios) upstream->add(s);
  upstream->start();

  ProxyInfo info;
  RunOptions ro;
  ro.timeouts = timeouts;
  ro.jobs = a.jobs;
  ro.default_deadline = timeouts.read * 4 + Millis{2000};
  if (!a.deadline.empty()) {
    auto v = parse_fixed(a.deadline, err);
    if (!v) {
      fmt::print(stderr, "upfault run: --deadline: {}\n", err);
      return kInputError;
    }
    ro.default_deadline = *v;
  }
  ProxyProcess process;
  if (profile) {
    info.name = profile->name;
    info.version = proxy_version(*profile);
    if (!process.start(*profile, {upstream->port(), upstream->refused_port()}, err)) {
      fmt::print(stderr, "upfault run: the proxy could not be started: {}\n", err);
      return kProxyError;
    }
    ro.proxy_port = process.port();
  } else {
    auto hp = parse_host_port(a.proxy_url, err);
    if (!hp) {
      fmt::print(stderr, "upfault run: --proxy-url: {}\n", err);
      return kInputError;
    }
    if (!is_loopback(hp->host) && !a.allow_remote) {
      fmt::print(stderr, "upfault run: {} is not a loopback address; pass --allow-remote to test a proxy "
                         "on another host\n", hp->host);
      return kInputError;
    }
    ro.proxy_host = hp->host;
    ro.proxy_port = hp->port;
    info.name = "proxy-url";
  }
  info.url = fmt::format("http://{}:{}", ro.proxy_host, ro.proxy_port);

  const bool colour = want_colour(stdout);
  if (!a.quiet)
    fmt::print("upfault: {} scenario{} through {}{} at {} (upstream 127.0.0.1:{}, refused 127.0.0.1:{}; "
               "read_timeout {}, connect_timeout {}; jobs {})\n",
               suite.scenarios.size(), suite.scenarios.size() == 1 ? "" : "s", info.name,
               info.version.empty() ? "" : " " + info.version, info.url, upstream->port(), upstream->refused_port(),
               format_millis(timeouts.read), format_millis(timeouts.connect), a.jobs);
  std::fflush(stdout);
  ro.on_result = [&](const ScenarioResult& r) {
    if (!a.quiet || r.verdict.kind == VerdictKind::fail || r.verdict.kind == VerdictKind::error)
      print_result(stdout, r, colour, a.verbose);
    std::fflush(stdout);
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto results = run_scenarios(suite.scenarios, *upstream, ro);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  int status = kPassed;
  if (profile && !process.alive()) {
    fmt::print(stderr, "upfault run: {} {} during the run; verdicts after that are not about its behaviour\n{}\n",
               info.name, process.exit_description(), process.log_tail());
    status = kFailed;
  }
  process.stop();
  upstream->stop();

  Tally tally;
  long long sum_ms = 0;
  for (const auto& r : results) tally.add(r.verdict.kind), sum_ms += r.client.elapsed.count();
  if (tally.fail || tally.error) status = kFailed;
  fmt::print("{}\n", tally.line());
  if (!a.quiet)
    fmt::print("wall time {:.2f} s for {:.2f} s of scenario time\n", wall, static_cast<double>(sum_ms) / 1000.0);
  if (!a.json.empty()) {
    std::ofstream out(a.json);
    out << to_json(info, results, wall);
    if (!out) {
      fmt::print(stderr, "upfault run: cannot write {}\n", a.json);
      return kInputError;
    }
  }
  return input_status != kPassed ? input_status : status;
}

}  // namespace

void setup_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run scenarios through a proxy and judge what it does");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("paths", a->paths, "Scenario files or directories (default: scenarios)");
  cmd->add_option("-f,--filter", a->filters, kFilterHelp);
  auto* p = cmd->add_option("-p,--proxy", a->proxy, "Proxy profile to start: a name under proxies/ or a profile.toml");
  auto* u = cmd->add_option("-u,--proxy-url", a->proxy_url, "A proxy you started, e.g. http://127.0.0.1:8080");
  p->excludes(u);
  cmd->add_option("--upstream-port", a->upstream_port, "Port of the fake upstream (with --proxy-url; default: any)");
  cmd->add_option("--refused-port", a->refused_port, "Port held closed for /__refused/ (default: any)");
  cmd->add_option("--read-timeout", a->read_timeout, "The proxy's upstream read timeout (default: the profile's, or 1s)");
  cmd->add_option("--connect-timeout", a->connect_timeout, "The proxy's upstream connect timeout (default: the profile's, or 1s)");
  cmd->add_option("-j,--jobs", a->jobs, "Scenarios in flight at once")->check(CLI::Range(1u, 10000u))->capture_default_str();
  cmd->add_option("--deadline", a->deadline, "Client deadline for scenarios without `within` (default: 4 × read_timeout + 2s)");
  cmd->add_option("--json", a->json, "Write the results as JSON to this file");
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow a --proxy-url outside loopback");
  cmd->add_flag("-v,--verbose", a->verbose, "Show the reason for every verdict and log upstream connections");
  cmd->add_flag("-q,--quiet", a->quiet, "Print only failures and the final count");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace upfault::cli
