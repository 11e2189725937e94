#include <fmt/format.h>
#include <unistd.h>

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

std::string ms(std::uint64_t ns) {
  const double v = static_cast<double>(ns) / 1e6;
  if (v >= 1000) return fmt::format("{:.2f}s", v / 1000);
  if (v >= 100) return fmt::format("{:.0f}ms", v);
  if (v >= 10) return fmt::format("{:.1f}ms", v);
  return fmt::format("{:.2f}ms", v);
}

void print_row(const std::string& label, const BenchStats& s, double seconds) {
  const auto& h = s.latency;
  fmt::print("  {:<18} {:>10} {:>11.1f} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n", label, s.responses,
             seconds > 0 ? static_cast<double>(s.responses) / seconds : 0.0, ms(h.percentile(50)), ms(h.percentile(90)),
             ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()), s.errors_total());
}

void print_counts(const BenchStats& s) {
  std::string status;
  for (auto [code, n] : s.status) status += fmt::format("{}{} × {}", status.empty() ? "" : ", ", code, n);
  fmt::print("  status   {}\n", status.empty() ? "none" : status);
  std::string errors;
  for (std::size_t i = 0; i < kBenchErrorKinds; ++i)
    if (s.errors[i])
      errors +=
          fmt::format("{}{} × {}", errors.empty() ? "" : ", ", to_string(static_cast<BenchError>(i)), s.errors[i]);
  fmt::print("  errors   {}\n", errors.empty() ? "none" : errors);
  for (const auto& [msg, n] : s.other_errors) fmt::print("           other: {} × {}\n", msg, n);
}

void print_result(const BenchOptions& o, const BenchResult& r) {
  fmt::print("\n  {:<18} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n", "", "responses", "per second", "p50",
             "p90", "p99", "p99.9", "max", "errors");
  print_row("all", r.total, r.seconds);
  if (o.mix.size() > 1) {
    if (r.healthy.responses + r.healthy.errors_total()) print_row("healthy", r.healthy, r.seconds);
    if (r.faulty.responses + r.faulty.errors_total()) print_row("faulty", r.faulty, r.seconds);
    for (std::size_t i = 0; i < o.mix.size(); ++i) print_row("  " + o.mix[i].name, r.per_entry[i], r.seconds);
  }
  fmt::print("\n");
  print_counts(r.total);
  fmt::print("  {} connects; {} request{} in flight at the end (not counted); latency {}\n", r.connects,
             r.in_flight_at_end, r.in_flight_at_end == 1 ? "" : "s",
             o.rate > 0 ? "from each request's intended send time" : "from each request's send time");
  if (r.side_connections)
    fmt::print("  faulty requests on {} side connection{}{}\n", r.side_connections, r.side_connections == 1 ? "" : "s",
               r.side_exhausted ? fmt::format("; {} waited on a healthy connection (all side connections busy: "
                                              "raise --side-connections)",
                                              r.side_exhausted)
                                : "");
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
  rio.upstream.threads = a.upstream_threads;
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
             o.rate > 0 ? fmt::format("constant rate {:g}/s", o.rate) : "closed loop",
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
    fmt::print(stderr, "upfault bench: {} {} during the bench\n{}\n", target.proxy, rig->process()->exit_description(),
               rig->process()->log_tail());
  }
  if (rig) rig->stop();
  print_result(o, r);
  if (r.interrupted)
    fmt::print(stderr, "upfault bench: stopped by {} after {:.1f} s of measurement\n", strsignal(r.interrupted),
               r.seconds);
  if (json.wanted()) {
    if (auto written = json.write(bench_to_json(o, r, target)); !written) {
      fmt::print(stderr, "upfault bench: {}\n", written.error().message);
      return kInputError;
    }
  }
  return r.interrupted || interrupt::received() ? interrupt::exit_status() : kPassed;
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
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow a --url outside loopback");
  cmd->add_flag("-q,--quiet", a->quiet, "Print only the results");
  cmd->callback([a, &exit_code] { exit_code = bench(*a); });
}

}  // namespace upfault::cli
