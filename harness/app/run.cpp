#include <fmt/format.h>
#include <boost/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "commands.hpp"
#include "options.hpp"
#include "repeat.hpp"
#include "run_args.hpp"
#include "upfault/baseline.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/matrix.hpp"
#include "upfault/repeat.hpp"
#include "upfault/report.hpp"
#include "upfault/rig.hpp"
#include "upfault/routes.hpp"
#include "upfault/runner.hpp"

namespace upfault::cli {

namespace {

// The three report files, opened before the run.
struct Reports {
  OutputFile json, junit, summary;
  [[nodiscard]] Result<void> open(const RunArgs& a) {
    std::vector<std::filesystem::path> seen;
    for (const auto* path : {&a.json, &a.junit, &a.summary, &a.write_baseline}) {
      if (path->empty()) continue;
      std::error_code ec;
      auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(*path, ec), ec);
      if (std::find(seen.begin(), seen.end(), p) != seen.end())
        return problem(fmt::format(
            "{} is named for two reports (--json, --junit, --summary, --write-baseline): one would overwrite the other",
            *path));
      seen.push_back(p);
    }
    for (auto [file, path] : {std::pair{&json, &a.json}, {&junit, &a.junit}, {&summary, &a.summary}})
      if (auto opened = file->open(*path); !opened) return opened;
    return {};
  }
  // Writes each wanted report, all made from the JSON report; kInputError (with the reason on
  // stderr) when any was not written.
  int write(const boost::json::object& report) {
    int status = kPassed;
    const std::string text = boost::json::serialize(report) + "\n";
    for (auto [file, made] : {std::pair{&json, text},
                              {&junit, junit.wanted() ? junit_from_report(report) : ""},
                              {&summary, summary.wanted() ? summary_from_report(report) : ""}}) {
      if (!file->wanted()) continue;
      if (auto written = file->write(made); !written) {
        fmt::print(stderr, "upfault run: {}\n", written.error().message);
        status = kInputError;
      }
    }
    return status;
  }
};

// --proxy-url and what goes with it: where the proxy is, what the reports call it.
Result<void> proxy_url_options(const RunArgs& a, SuiteOptions& so) {
  auto hp = parse_loopback_address(a.proxy_url, a.allow_remote);
  if (!hp) return hp.error().prefixed("--proxy-url: ");
  if (!hp->path.empty() && hp->path != "/")
    return problem(
        fmt::format("--proxy-url takes no path (\"{}\"): upfault sends /__upfault/NAME/ paths, which "
                    "the proxy must pass to its upstream",
                    hp->path));
  if (a.ports.scripted == 0)
    return problem(
        "--proxy-url needs --upstream-port P: the port your proxy sends its upstream requests to "
        "(upfault's fake upstream listens there)");
  so.proxy_host = hp->host;
  so.proxy_port = hp->port;
  if (!a.proxy_name.empty()) {
    const bool printable =
        std::all_of(a.proxy_name.begin(), a.proxy_name.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
    if (!printable || a.proxy_name.size() > 100)
      return problem("--proxy-name: a name of at most 100 printable characters");
    so.proxy_name = a.proxy_name;
  }
  if (a.lanes > 0) return problem("--lanes needs --proxy: each lane is an instance of the proxy that upfault starts");
  return {};
}

// The proxy (a profile or an address), timeouts, deadline and ports from the command line;
// nullopt (the reason on stderr) when any is wrong.
std::optional<SuiteOptions> suite_options(const RunArgs& a) {
  SuiteOptions so;
  auto wrong = [&](const Problem& p) {
    fmt::print(stderr, "upfault run: {}\n", p.message);
    return std::nullopt;
  };
  if (a.proxy.empty() == a.proxy_url.empty())
    return wrong(problem("give either --proxy NAME (upfault starts it) or --proxy-url URL"));
  // With --proxy-url the proxy is the user's: its CA is kept (the default dir, as routes and serve use).
  if (auto ca = apply_tls_dir(a.tls_dir, /*or_default=*/!a.proxy_url.empty()); !ca) return wrong(ca.error());
  so.detect_protocols = !a.proxy_url.empty() && a.upstream_protocols.empty();
  if (!a.upstream_protocols.empty()) {
    if (!a.proxy.empty())
      return wrong(
          problem("--upstream-protocols is for --proxy-url: a profile says what it speaks (upstream_protocols)"));
    so.run.protocols.clear();
    for (const auto& text : a.upstream_protocols) {
      auto p = parse_protocol(text);
      if (!p)
        return wrong(problem(fmt::format("--upstream-protocols: \"{}\" is not http/1.1, https, h2c or h2", text)));
      so.run.protocols.push_back(*p);
    }
  }
  if (!a.proxy.empty()) {
    auto profile = find_profile(a.proxy, default_profile_dirs());
    if (!profile) return wrong(profile.error());
    so.profile = std::move(*profile);
    auto notes = load_quirks(so.profile->dir);
    if (!notes) return wrong(notes.error());
    so.run.annotate = [notes = std::move(*notes)](const ScenarioResult& r) { return notes.note(r); };
    so.run.timeouts = so.profile->timeouts;
  } else if (auto reached = proxy_url_options(a, so); !reached) {
    return wrong(reached.error());
  }
  for (auto [text, field] :
       {std::pair{&a.read_timeout, &so.run.timeouts.read}, std::pair{&a.connect_timeout, &so.run.timeouts.connect}}) {
    if (text->empty()) continue;
    auto v = parse_fixed(*text);
    if (!v) return wrong(v.error());
    *field = *v;
  }
  so.run.jobs = a.lanes > 0 ? 1 : a.jobs;
  so.run.strict = a.strict;
  so.lanes = std::max(1u, a.lanes);
  so.isolate = !a.no_isolation;
  so.run.keepalive_probe = !a.no_keepalive_probe;
  const bool fixed_port =
      a.ports.scripted != 0 || std::any_of(endpoint_port_fields().begin(), endpoint_port_fields().end(),
                                           [&](const PortField& f) { return a.ports.*f.port != 0; });
  if (a.lanes > 0 && fixed_port)
    return wrong(problem("--lanes takes no fixed ports: each lane's upstream has ports of its own"));
  so.run.default_deadline = default_deadline(so.run.timeouts);
  if (!a.deadline.empty()) {
    auto v = parse_fixed(a.deadline);
    if (!v) return wrong(v.error().prefixed("--deadline: "));
    so.run.default_deadline = *v;
  }
  so.ports = with_default_endpoints(a.ports);  // P+1…P+4, as `upfault routes` prints them
  so.verbose_upstream = a.verbose;
  return so;
}

// The header line once the proxy is ready, and a line per result (a progress line on a terminal).
// A failure `baseline` records as this very outcome: streamed as KNOWN, not FAIL.
bool known_failure(const ScenarioResult& r, const std::optional<Baseline>& baseline) {
  if (!baseline || r.verdict.kind != VerdictKind::fail) return false;
  const auto was = baseline->outcome.find(r.scenario->name);
  return was != baseline->outcome.end() && classify(was->second, baseline_outcome(r)) == BaselineStatus::known;
}

void attach_console(const RunArgs& a, std::size_t total, SuiteOptions& so, const std::optional<Baseline>& baseline) {
  so.on_ready = [&a, total, &so](const ProxyInfo& info, const EndpointPorts& ports) {
    if (a.quiet) return;
    fmt::print("upfault: {} scenario{} through {}{} at {}\n  ({}; read_timeout {}, connect_timeout {}; {})\n", total,
               total == 1 ? "" : "s", info.name, info.version.empty() ? "" : " " + info.version, info.url,
               describe_ports(ports), format_millis(so.run.timeouts.read), format_millis(so.run.timeouts.connect),
               a.lanes > 0 ? fmt::format("{} lanes, each its own {} and upstream, one scenario at a time; the "
                                         "first lane's ports shown",
                                         a.lanes, info.name)
                           : fmt::format("jobs {}", a.jobs));
    std::fflush(stdout);
  };
  const bool colour = want_colour(stdout);
  const bool progress = !a.quiet && isatty(fileno(stderr));
  so.run.on_result = [&a, &baseline, total, colour, progress, done = std::size_t{0}, failed = std::size_t{0},
                      said = std::map<std::string, std::pair<std::string, int>>{}](const ScenarioResult& r) mutable {
    ++done;
    const bool known = known_failure(r, baseline);
    const bool bad = !known && (r.verdict.kind == VerdictKind::fail || r.verdict.kind == VerdictKind::error);
    failed += bad;
    if (progress) fmt::print(stderr, "\r\x1b[K");
    // A setup error already printed in full for another scenario (the same fix, only the scenario's
    // name differing) is one line that points at the first, with its count so far.
    if (r.verdict.kind == VerdictKind::error && r.verdict.reason.starts_with("setup: ") && !a.verbose) {
      const std::string key = reason_without_name(r);
      auto [it, first] = said.try_emplace(key, r.scenario->name, 1);
      if (!first) {
        ScenarioResult shown = r;
        shown.verdict.reason =
            fmt::format("setup: the same as for {} ({} scenarios so far)", it->second.first, ++it->second.second);
        print_result(stdout, shown, colour, false);
        std::fflush(stdout);
        return;
      }
    }
    // Not-run scenarios are one line per reason after the results (console_recap), unless -v.
    const bool shown = r.verdict.kind == VerdictKind::not_run ? a.verbose : !a.quiet || bad;
    if (shown) print_result(stdout, r, colour, a.verbose, known);
    std::fflush(stdout);
    if (progress && done < total) fmt::print(stderr, "[{}/{}] {} failed so far…", done, total, failed);
  };
}

// --write-baseline: the run's outcomes, unless a signal stopped it or a report was not written;
// kInputError (the reason on stderr) when the baseline was not recorded (a setup error in the run).
int write_baseline(const RunArgs& a, const SuiteRun& run, OutputFile& out) {
  auto made = to_baseline_json(run.proxy, run.results, UPFAULT_VERSION, a.strict);
  if (auto written = made ? out.write(*made) : Result<void>(made.error()); !written) {
    fmt::print(stderr, "upfault run: --write-baseline {}: {}\n", a.write_baseline, written.error().message);
    return kInputError;
  }
  const auto recorded = std::count_if(run.results.begin(), run.results.end(),
                                      [](const ScenarioResult& r) { return r.verdict.kind != VerdictKind::not_run; });
  fmt::print("wrote baseline {} ({} scenarios{})\n", a.write_baseline, recorded,
             recorded == static_cast<long>(run.results.size()) ? "" : "; those not run are left out");
  return kPassed;
}

// The report files and --write-baseline opened, and --baseline read, before the run; false (with
// the problem printed) when one cannot be.
bool prepare_outputs(const RunArgs& a, Reports& reports, OutputFile& baseline_out, std::optional<Baseline>& baseline) {
  // A baseline records the whole selection: written from a filtered or sharded run, it would drop
  // every other scenario the file held (and a later full run would call them new).
  if (!a.write_baseline.empty() && (!a.filters.empty() || !a.shard.empty())) {
    fmt::print(stderr,
               "upfault run: --write-baseline records every scenario of the run, so it takes no {}: the file would "
               "lose the scenarios left out. Record it from the whole selection (paths choose the suite)\n",
               a.filters.empty() ? "--shard" : "-f filter");
    return false;
  }
  auto opened = reports.open(a);
  if (opened) opened = baseline_out.open(a.write_baseline);
  if (!opened) {
    fmt::print(stderr, "upfault run: {}\n", opened.error().message);
    return false;
  }
  if (a.baseline.empty()) return true;
  auto b = load_baseline(a.baseline);
  auto fits = b ? baseline_fits(*b, a.baseline, a.strict) : Result<void>(b.error());
  if (!fits) {
    fmt::print(stderr, "upfault run: {}\n", fits.error().message);
    return false;
  }
  baseline = std::move(*b);
  return true;
}

// --shard I/N: keeps the shard's scenarios and notes which shard it is; false on a bad value.
bool take_shard(const std::string& text, std::vector<Scenario>& scenarios, SuitePosition& position) {
  if (text.empty()) return true;
  auto shard = parse_shard(text);
  if (!shard) {
    fmt::print(stderr, "upfault run: --shard {}\n", shard.error().message);
    return false;
  }
  scenarios = shard_of(std::move(scenarios), shard->first, shard->second);
  position.shard = shard->first;
  position.shards = shard->second;
  return true;
}

// The proxy died and was not restarted: how, and which verdicts that turned into errors.
void report_death(const SuiteRun& run, const SuiteOptions& so) {
  const auto blamed = std::count_if(run.results.begin(), run.results.end(), [](const ScenarioResult& r) {
    return r.verdict.kind == VerdictKind::error && r.verdict.reason.starts_with("the proxy died during the run");
  });
  fmt::print(stderr,
             "upfault run: {}\nverdicts after that are not about the proxy's behaviour: the {} scenario(s) that got "
             "no complete response count as errors, whatever their line above says{}\n",
             run.proxy_died, blamed,
             so.run.jobs > 1 && so.lanes <= 1 && !so.isolate
                 ? "; without --no-isolation (or with -j 1 or --lanes N), upfault restarts a crashed proxy and "
                   "judges the rest"
                 : "");
}

// What the proxy's state did to the run: the isolation reruns, then a death they did not account
// for. True when the proxy died.
bool report_proxy_state(const SuiteRun& run, const SuiteOptions& so) {
  if (!run.isolation.empty()) fmt::print("{}\n", run.isolation);
  if (run.proxy_died.empty()) return false;
  report_death(run, so);
  return true;
}

// Green on nothing judged would hide a suite that tests nothing (a shard may well hold only such
// scenarios): says so, and true.
bool nothing_judged(const Tally& tally, const SuiteRun& run, const RunArgs& a) {
  if (tally.total() > 0 || tally.not_run == 0 || run.interrupted || !a.shard.empty()) return false;
  fmt::print(stderr,
             "upfault run: nothing was judged: the proxy is not set up to speak the upstream protocol of any selected "
             "scenario (a profile's upstream_protocols, or --upstream-protocols with --proxy-url)\n");
  return true;
}

// The last screen: the not-run groups and setup hints; every failure again, one line each (unless
// -q, or with a baseline, whose changes were just printed); the counts, crashes and the wall time.
void print_ending(const RunArgs& a, const SuiteRun& run, const ProxyTimeouts& declared, const Tally& tally,
                  bool baseline, bool colour) {
  fmt::print("{}", a.quiet ? setup_hints(run.results, declared, run.proxy_log)
                           : console_recap(run.results, declared, /*failures=*/!baseline, colour, run.proxy_log));
  fmt::print("{}\n", tally.line());
  if (run.crashes)
    fmt::print("the proxy crashed {} time{} and was restarted; each crash is failed on the scenario it handled\n",
               run.crashes, run.crashes == 1 ? "" : "s");
  long long sum_ms = 0;
  for (const auto& r : run.results) sum_ms += r.client.elapsed.count();
  if (!a.quiet)
    fmt::print("wall time {:.2f} s for {:.2f} s of scenario time\n", run.wall_seconds,
               static_cast<double>(sum_ms) / 1000.0);
}

int run(const RunArgs& a) {
  auto suite = load_suite(a.paths, a.filters);
  const int input_status = suite.errors.empty() ? kPassed : kInputError;
  if (suite.scenarios.empty()) {
    fmt::print(stderr, "upfault run: no scenario to run\n");
    return kInputError;
  }
  // Every output path is opened now: a path that cannot be written fails before the run, not after it.
  Reports reports;
  OutputFile baseline_out;
  std::optional<Baseline> baseline;
  if (!prepare_outputs(a, reports, baseline_out, baseline)) return kInputError;
  SuitePosition position = suite_position(suite.scenarios);  // of the whole suite, for upfault merge
  if (!take_shard(a.shard, suite.scenarios, position)) return kInputError;
  if (suite.scenarios.empty()) {
    fmt::print("upfault: shard {} holds no scenario\n0 passed, 0 failed\n", a.shard);
    return input_status;
  }
  auto so = suite_options(a);
  if (!so) return kInputError;
  position.selected = suite.scenarios.size();
  position.timeouts = so->run.timeouts;
  position.strict = a.strict;
  attach_console(a, suite.scenarios.size(), *so, baseline);

  unsigned completed = 0;
  SuiteRun run =
      run_repeated(suite.scenarios, *so, a.repeat, completed,
                   a.repeat > 1 ? [&a](unsigned k, const SuiteRun& r) { print_run_line(k, a.repeat, r); } : AfterRun{});
  position.repeat = a.repeat;
  position.repeat_completed = completed;
  position.interrupted = run.interrupted;
  const bool colour = want_colour(stdout);
  if (run.interrupted && !run.setup_error.empty()) {  // stopped while the proxy was starting
    if (a.repeat > 1) (void)report_repeats(run.results, completed, a.repeat, colour);
    // What finished: nothing, but a valid report that says so.
    (void)reports.write(report_object(run.proxy, run.results, run.wall_seconds, &position));
    return interrupt::exit_status();
  }
  if (!run.setup_error.empty()) {
    fmt::print(stderr, "upfault run: {}\n", run.setup_error);
    auto report = report_object(run.proxy, {}, run.wall_seconds, &position);
    report["setup_error"] = run.setup_error;  // so that an earlier run's green files do not stay
    (void)reports.write(report);
    return kProxyError;
  }
  // A verdict that changed from run to run fails the run, whatever it was (see README, --repeat).
  int status = a.repeat > 1 && report_repeats(run.results, completed, a.repeat, colour) ? kFailed : kPassed;
  if (report_proxy_state(run, *so)) status = kFailed;
  Tally tally;
  for (const auto& r : run.results) tally.add(r);
  auto report = report_object(run.proxy, run.results, run.wall_seconds, &position);
  if (baseline) {
    if (!apply_baseline(report, *baseline, a.baseline).changes.empty()) status = kFailed;
    fmt::print("{}", baseline_console(report));
  } else if (tally.fail || tally.error) {
    status = kFailed;
  }
  print_ending(a, run, so->run.timeouts, tally, baseline.has_value(), colour);
  if (nothing_judged(tally, run, a)) status = kInputError;
  int write_status = reports.write(report);
  if (baseline_out.wanted() && write_status == kPassed && !run.interrupted) {
    write_status = write_baseline(a, run, baseline_out);
    // Recorded, the run's failures are the baseline's known failures: recording succeeded.
    if (write_status == kPassed && status == kFailed && !baseline) status = kPassed;
  }
  // A signal that arrives while the proxy is being stopped still stopped the run.
  if (!run.interrupted) run.interrupted = interrupt::received();
  if (run.interrupted) {
    fmt::print(stderr, "upfault run: stopped by {} {}; the reports hold those that finished\n",
               strsignal(run.interrupted),
               a.repeat > 1 ? fmt::format("during run {} of {}", std::min(completed + 1, a.repeat), a.repeat)
                            : fmt::format("after {} of {} scenarios", run.results.size(), suite.scenarios.size()));
    return interrupt::exit_status();
  }
  if (write_status != kPassed) return write_status;
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
  cmd->add_option("--proxy-name", a->proxy_name,
                  "With --proxy-url: what the reports call your proxy (default: proxy-url), e.g. our-nginx")
      ->needs(u);
  p->excludes(u);
  add_port_options(cmd, a->ports);
  add_tls_dir_option(cmd, a->tls_dir);
  cmd->add_option("--upstream-protocols", a->upstream_protocols,
                  "With --proxy-url: what your proxy speaks to the upstream, routed as `upfault routes` prints "
                  "(http/1.1, https, h2c, h2); each must pass pre-flight, and scenarios needing another are not "
                  "run (default: those pre-flight finds routed)")
      ->delimiter(',');
  cmd->add_option("--read-timeout", a->read_timeout,
                  "The proxy's upstream read timeout (default: the profile's, or 1s)");
  cmd->add_option("--connect-timeout", a->connect_timeout,
                  "The proxy's upstream connect timeout (default: the profile's, or 1s)");
  auto* jobs = cmd->add_option("-j,--jobs", a->jobs, "Scenarios in flight at once")
                   ->check(CLI::Range(1u, 10000u))
                   ->capture_default_str();
  cmd->add_option("--lanes", a->lanes,
                  "Start N instances of the --proxy, each with its own upstream, and run each's share of the "
                  "suite one scenario at a time: no two scenarios share a proxy's upstream pool")
      ->check(CLI::Range(1u, 64u))
      ->excludes(jobs);
  add_state_options(cmd, a->no_isolation, a->no_keepalive_probe);
  cmd->add_option("--deadline", a->deadline,
                  "Client deadline for scenarios without `within` (default: 4 × read_timeout + 2s)");
  cmd->add_option("--json", a->json, "Write the results as JSON (schema: docs/json-report.md)");
  cmd->add_option("--junit", a->junit, "Write the results as JUnit XML (one testcase per scenario)");
  cmd->add_option("--summary", a->summary, "Write a Markdown summary (for a CI job summary)");
  cmd->add_option("--shard", a->shard, "Run shard I of N (I/N, from 1): a deterministic split of the suite");
  cmd->add_option("--repeat", a->repeat,
                  "Run the suite N times (a fresh proxy each time); every report keeps each scenario's outcomes: one "
                  "that varied shows each with its count, and a changed verdict fails the run")
      ->check(CLI::Range(1u, kMaxRepeat));
  cmd->add_option("--baseline", a->baseline,
                  "Known outcomes (from --write-baseline): pass while every scenario does what it says, fail on any "
                  "change, better or worse");
  cmd->add_option("--write-baseline", a->write_baseline,
                  "Record this run's outcomes as a baseline file (refused, exit 2, when a scenario ended in a setup "
                  "error)");
  cmd->add_flag("--strict", a->strict, "Count stricter-than-required verdicts as failures");
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow a --proxy-url outside loopback");
  cmd->add_flag("-v,--verbose", a->verbose, "Show the reason for every verdict and log upstream connections");
  cmd->add_flag("-q,--quiet", a->quiet, "Print only failures and the final count");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace upfault::cli
