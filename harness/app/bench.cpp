#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "commands.hpp"
#include "options.hpp"
#include "upfault/bench.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/proxy.hpp"
#include "upfault/rig.hpp"

namespace upfault::cli {

namespace fs = std::filesystem;

namespace {

struct BenchArgs {
  std::string url;
  std::string proxy;
  std::string mix;
  std::vector<std::string> scenarios;
  unsigned connections = 64;
  unsigned threads = 2;
  unsigned upstream_threads = 1;
  unsigned side_connections = 10000;
  std::string duration = "10s";
  std::uint64_t requests = 0;
  double rate = 0;
  std::string timeout = "5s";
  std::string connect_timeout = "2s";
  std::string warmup = "0s";
  std::string json;
  std::vector<std::string> fail_if;
  bool allow_remote = false;
  bool quiet = false;
};

// bench/scenarios (the bench's own: ok, silent, reset, slow, …) and the corpus.
std::vector<std::string> default_bench_paths() {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::path p : {fs::path("bench/scenarios"), tool_dir().parent_path() / "share" / "upfault" / "bench-scenarios",
                     fs::path(UPFAULT_SOURCE_BENCH_SCENARIOS_DIR)}) {
    if (fs::is_directory(p, ec)) {
      out.push_back(p.string());
      break;
    }
  }
  for (const auto& p : suite_paths({})) out.push_back(p.string());
  return out;
}

// The --fail-if conditions, each checked against the mix; nullopt (with the message printed) when
// one is wrong.
std::optional<std::vector<FailIf>> fail_if_conditions(const BenchArgs& a, const std::vector<MixEntry>& mix) {
  std::vector<FailIf> out;
  for (const auto& text : a.fail_if) {
    auto f = parse_fail_if(text);
    if (!f) {
      fmt::print(stderr, "upfault bench: --fail-if '{}': {}\n", text, f.error().message);
      return std::nullopt;
    }
    if (auto applies = check_fail_if(*f, mix); !applies) {
      fmt::print(stderr, "upfault bench: {}\n", applies.error().message);
      return std::nullopt;
    }
    out.push_back(std::move(*f));
  }
  return out;
}

// The options from the command line; nullopt (with the message printed) when one is wrong.
std::optional<BenchOptions> bench_options(const BenchArgs& a, LoadResult& suite) {
  BenchOptions o;
  o.connections = a.connections;
  o.threads = a.threads;
  o.requests = a.requests;
  o.rate = a.rate;
  o.side_connections = a.side_connections;
  for (auto [text, field, name] :
       {std::tuple{&a.duration, &o.duration, "--duration"}, std::tuple{&a.timeout, &o.timeout, "--timeout"},
        std::tuple{&a.connect_timeout, &o.connect_timeout, "--connect-timeout"},
        std::tuple{&a.warmup, &o.warmup, "--warmup"}}) {
    auto v = parse_fixed(*text);
    if (!v) {
      fmt::print(stderr, "upfault bench: {}: {}\n", name, v.error().message);
      return std::nullopt;
    }
    *field = *v;
  }
  // The mix: scenario names resolved against the bench's scenarios and the corpus.
  if (!a.mix.empty() || !a.proxy.empty()) {
    auto weights = parse_mix(a.mix.empty() ? "ok=1" : a.mix);
    if (!weights) {
      fmt::print(stderr, "upfault bench: --mix: {}\n", weights.error().message);
      return std::nullopt;
    }
    suite = load_suite(a.scenarios.empty() ? default_bench_paths() : a.scenarios, {});
    if (!suite.errors.empty()) return std::nullopt;
    auto mix = resolve_mix(*weights, suite.scenarios);
    if (!mix) {
      fmt::print(stderr, "upfault bench: --mix: {}\n", mix.error().message);
      return std::nullopt;
    }
    o.mix = std::move(*mix);
  }
  return o;
}

// What is measured: --url, or a proxy started in front of the fake upstream (`rig`). Returns an
// exit code when it cannot be reached or started.
std::optional<int> reach_target(const BenchArgs& a, const LoadResult& suite, BenchOptions& o, BenchTarget& target,
                                std::unique_ptr<Rig>& rig) {
  if (!a.url.empty()) {
    auto hp = parse_loopback_address(a.url, a.allow_remote);
    if (!hp) {
      fmt::print(stderr, "upfault bench: --url: {}\n", hp.error().message);
      return kInputError;
    }
    o.host = hp->host;
    o.port = hp->port;
    target.url = a.url;
    if (o.mix.empty()) o.mix = {MixEntry{"url", 1, hp->path, true}};
    return std::nullopt;
  }
  auto profile = find_profile(a.proxy, default_profile_dirs());
  if (!profile) {
    fmt::print(stderr, "upfault bench: {}\n", profile.error().message);
    return kInputError;
  }
  RigOptions rio;
  rio.profile = *profile;
  rio.upstream.keep_logs = false;
  rio.upstream.tls_resumption = true;
  rio.upstream.h2_multiplex = true;
  rio.upstream.threads = a.upstream_threads;
  // Every connection bench opens may hold one to the upstream through the proxy, and a pool more.
  rio.upstream.max_connections =
      std::max(rio.upstream.max_connections, 2 * (std::size_t{a.connections} + std::size_t{a.side_connections}));
  auto started = Rig::start(suite.scenarios, std::move(rio));
  if (!started) {
    if (interrupt::received()) return interrupt::exit_status();
    fmt::print(stderr, "upfault bench: {}\n", started.error().message);
    return kProxyError;
  }
  rig = std::move(*started);
  o.port = rig->proxy_port();
  target.proxy = profile->name;
  target.proxy_version = rig->info().version;
  target.url = rig->info().url;
  return std::nullopt;
}

void print_plan(const BenchArgs& a, const BenchOptions& o, const BenchTarget& target) {
  std::string mix;
  unsigned total = 0;
  for (const auto& e : o.mix) total += e.weight;
  for (const auto& e : o.mix)
    mix += fmt::format("{}{} {:.4g} %{}", mix.empty() ? "" : ", ", e.name, 100.0 * e.weight / total,
                       e.healthy ? "" : " (faulty)");
  fmt::print("upfault bench: {}{}\n", target.url,
             target.proxy.empty()
                 ? ""
                 : fmt::format(" ({} {} in front of upfault's fake upstream, {} thread{})", target.proxy,
                               target.proxy_version, a.upstream_threads, a.upstream_threads == 1 ? "" : "s"));
  fmt::print("  {} connections on {} thread{}, {}, {}{}\n  mix: {}\n", o.connections, o.threads,
             o.threads == 1 ? "" : "s", o.requests ? fmt::format("{} requests", o.requests) : format_millis(o.duration),
             o.rate > 0 ? fmt::format("constant rate {}/s", plain_number(o.rate)) : "closed loop",
             o.warmup.count() ? fmt::format(" after {} warm-up", format_millis(o.warmup)) : "", mix);
  std::fflush(stdout);
}

int bench(const BenchArgs& a) {
  if (a.url.empty() == a.proxy.empty()) {
    fmt::print(stderr,
               "upfault bench: give either --url URL (any running server or proxy) or --proxy NAME "
               "(upfault starts it in front of its fake upstream)\n");
    return kInputError;
  }
  LoadResult suite;
  auto options = bench_options(a, suite);
  if (!options) return kInputError;
  BenchOptions& o = *options;
  // With --url and no --mix, the one entry is healthy; the conditions are checked before anything starts.
  auto conditions = fail_if_conditions(a, o.mix.empty() ? std::vector<MixEntry>{MixEntry{}} : o.mix);
  if (!conditions) return kInputError;
  OutputFile json;
  if (auto opened = json.open(a.json); !opened) {
    fmt::print(stderr, "upfault bench: {}\n", opened.error().message);
    return kInputError;
  }
  BenchTarget target;
  std::unique_ptr<Rig> rig;
  if (auto failed = reach_target(a, suite, o, target, rig)) return *failed;
  const bool tty = isatty(fileno(stderr)) != 0;
  if (!a.quiet) {
    print_plan(a, o, target);
    o.on_progress = [tty](const BenchProgress& p) {
      // On a terminal, one line rewritten every second; in a log, a line every 5 s.
      if (!tty && static_cast<long>(p.elapsed_seconds + 0.5) % 5 != 0) return;
      fmt::print(stderr, "{}[{:.0f}s] {}{} responses, {} errors{}", tty ? "\r\x1b[K" : "", p.elapsed_seconds,
                 p.warming_up ? "warming up, " : "", p.responses, p.errors, tty ? "" : "\n");
    };
  }
  Result<BenchResult> ran;
  try {
    ran = run_bench(o);
  } catch (const std::exception& e) {  // what the system refused (threads, memory)
    ran = problem(e.what());
  }
  if (!ran) {
    fmt::print(stderr, "upfault bench: {}\n", ran.error().message);
    return kInputError;
  }
  const BenchResult& r = *ran;
  if (tty && !a.quiet) fmt::print(stderr, "\r\x1b[K");
  if (rig && !rig->process()->alive()) {
    const auto& fix = rig->process()->background();  // what to change in a config that went to the background
    fmt::print(stderr, "upfault bench: {}{} {} during the bench\n{}\n",
               fix.empty() ? "" : fmt::format("{}: {}\n", target.proxy, fix), target.proxy,
               rig->process()->exit_description(), rig->process()->log_tail());
  }
  if (rig) rig->stop();
  BenchVerdict verdict{evaluate_fail_if(*conditions, r), bench_warnings(o, r)};
  fmt::print("{}", bench_to_text(o, r, verdict));
  if (r.interrupted)
    fmt::print(stderr, "upfault bench: stopped by {} after {:.1f} s of measurement\n", strsignal(r.interrupted),
               r.seconds);
  if (json.wanted()) {
    if (auto written = json.write(bench_to_json(o, r, target, verdict)); !written) {
      fmt::print(stderr, "upfault bench: {}\n", written.error().message);
      return kInputError;
    }
  }
  if (r.interrupted || interrupt::received()) return interrupt::exit_status();
  if (verdict.failed()) {
    std::string held;
    for (const auto& f : verdict.fail_if)
      if (f.failed) held += fmt::format("{}{} ({})", held.empty() ? "" : ", ", f.condition.text, fail_if_value(f));
    fmt::print(stderr, "upfault bench: failed --fail-if: {}\n", held);
    return kFailed;
  }
  return kPassed;
}

}  // namespace

void setup_bench(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "bench", "Measure a proxy's throughput and latency, optionally with a share of faulty upstream responses");
  auto a = std::make_shared<BenchArgs>();
  auto* u = cmd->add_option("-u,--url", a->url, "Drive this server or proxy directly, e.g. http://127.0.0.1:8080/path");
  auto* p = cmd->add_option("-p,--proxy", a->proxy, "Start this proxy profile in front of upfault's fake upstream");
  u->excludes(p);
  cmd->add_option("-m,--mix", a->mix,
                  "Share of requests per scenario, e.g. ok=90,silent=5,reset=5 (default with --proxy: ok=1); "
                  "scenarios whose expectation is passthrough count as healthy");
  cmd->add_option("--scenarios", a->scenarios,
                  "Where --mix names are looked up (default: bench/scenarios and the corpus)");
  cmd->add_option("-c,--connections", a->connections, "Connections kept open")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  cmd->add_option("-t,--threads", a->threads, "Load-generating threads, one io_context each")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  cmd->add_option("--upstream-threads", a->upstream_threads, "With --proxy: threads of the fake upstream")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  auto* d = cmd->add_option("-d,--duration", a->duration, "How long to measure")->capture_default_str();
  auto* n = cmd->add_option("-n,--requests", a->requests, "Stop after this many requests instead of a duration");
  d->excludes(n);
  cmd->add_option("-r,--rate", a->rate,
                  "Constant rate in requests/s over all connections (open loop; latency counts from each request's "
                  "intended send time, so stalls are not hidden); default: as fast as possible")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--side-connections", a->side_connections,
                  "With a mix of healthy and faulty scenarios: at most this many extra connections carry the "
                  "faulty requests, so they never hold up healthy ones (0: all share the same connections; never more "
                  "than the open-file limit allows)")
      ->capture_default_str();
  cmd->add_option("--timeout", a->timeout, "Per-request timeout")->capture_default_str();
  cmd->add_option("--connect-timeout", a->connect_timeout, "Connect timeout")->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Run this long before measuring")->capture_default_str();
  cmd->add_option("--json", a->json, "Write the results as JSON (schema: docs/bench.md)");
  cmd->add_option("--fail-if", a->fail_if,
                  "Exit 1 when this holds after the run, e.g. 'p99>5ms', 'healthy.p99.9>=20ms', 'rps<20000', "
                  "'errors>0', 'errors%>1', 'status5xx>0' (repeatable; any that holds fails the run)")
      ->allow_extra_args(false);
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow a --url outside loopback");
  cmd->add_flag("-q,--quiet", a->quiet, "Print only the results");
  cmd->callback([a, &exit_code] { exit_code = bench(*a); });
}

}  // namespace upfault::cli
