#include "upfault/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>

#include "base/util.hpp"
#include "client/client_async.hpp"
#include "io/listeners.hpp"
#include "proxy/reaper.hpp"
#include "run/isolation.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/rig.hpp"

namespace upfault {

using namespace net;

std::vector<Scenario> shard_of(std::vector<Scenario> scenarios, unsigned index, unsigned count) {
  std::vector<const Scenario*> order;
  for (const auto& s : scenarios) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const Scenario* a, const Scenario* b) { return a->name < b->name; });
  std::vector<std::string> keep;
  for (std::size_t k = 0; k < order.size(); ++k)
    if (k % count == index - 1) keep.push_back(order[k]->name);
  std::erase_if(scenarios,
                [&](const Scenario& s) { return std::find(keep.begin(), keep.end(), s.name) == keep.end(); });
  return scenarios;
}

Millis client_deadline(const Scenario& s, const ProxyTimeouts& t, Millis fallback) {
  std::optional<Millis> latest;
  for (const auto* list : {&s.expect.accept, &s.expect.stricter})
    for (const auto& o : *list)
      if (auto within = o.latest()) latest = std::max(latest.value_or(Millis{0}), within->resolve(t));
  if (!latest) return fallback;
  // Wait past the bound, so that a late answer is seen (and reported as late) rather than missed.
  return *latest + std::max(Millis{1000}, *latest / 2);
}

JudgeOptions judging(const RunOptions& o) { return {o.timeouts, o.strict}; }

namespace {

// A scenario the proxy cannot be asked: it needs an upstream protocol the proxy does not speak.
ScenarioResult not_run(const Scenario& s, const RunOptions& options, std::shared_ptr<const Scenario> shared) {
  ScenarioResult r;
  auto why = options.not_run_because.find(s.protocol);
  r.verdict = {VerdictKind::not_run,
               fmt::format("not run: needs upstream protocol {}, which the proxy is not set up to speak{}",
                           to_string(s.protocol),
                           why == options.not_run_because.end() ? std::string(" (upstream_protocols)")
                                                                : fmt::format(": {}", why->second))};
  r.scenario = std::move(shared);
  return r;
}

// The proxy died during a run that did not restart it (scenarios in parallel): each result learns
// it, and is judged again (evaluate: what got no complete response may have ended by the death).
void note_death(std::vector<ScenarioResult>& results, const std::string& how, const JudgeOptions& judge) {
  for (auto& r : results) {
    if (r.verdict.kind == VerdictKind::not_run) continue;
    r.proxy_died = how;
    r.verdict = evaluate(*r.scenario, r, judge);
  }
}

// FakeUpstream::tls_refusal, waited for until `bound` without holding up the other scenarios in
// flight: the upstream tells when it notes one (on_tls_note), which ends the wait at once.
awaitable<std::string> tls_refusal(const FakeUpstream& upstream, Millis bound) {
  const auto executor = co_await asio::this_coro::executor;
  const auto until = Clock::now() + bound;
  auto timer = std::make_shared<asio::steady_timer>(executor, until);
  auto watch = upstream.on_tls_note([executor, weak = std::weak_ptr(timer)] {
    asio::post(executor, [weak] {
      if (auto t = weak.lock()) t->cancel();
    });
  });
  auto refusal = upstream.tls_refusal();
  while (refusal.empty() && Clock::now() < until) {
    (void)co_await timer->async_wait(use_tuple);  // the bound, or a note
    refusal = upstream.tls_refusal();
    timer->expires_at(until);
  }
  co_return refusal;
}

// The evidence of one scenario, gathered, and its verdict.
awaitable<ScenarioResult> run_one(const Scenario& s, FakeUpstream& upstream, const RunOptions& options) {
  FetchOptions fo;
  fo.host = options.proxy_host;
  fo.port = options.proxy_port;
  fo.deadline = client_deadline(s, options.timeouts, options.default_deadline);
  fo.header_limit = header_limit_for(s);
  const std::string prefix = std::string(upstream_prefix(s.endpoint, s.protocol)) + route_prefix(s.name);
  fo.read_after = s.reads_past_response();
  const auto host = fmt::format("{}:{}", options.proxy_host, options.proxy_port);
  const bool probe = options.keepalive_probe && !fo.read_after && !says_close(s.request.headers);
  auto wires = render_requests(s.request, prefix, {{"X-Upfault-Scenario", s.name}}, host, !probe);
  const JudgeOptions judge = judging(options);
  ScenarioResult r;
  bool logged = false;
  if (probe) {
    Request next;
    next.path = "/";
    fo.probe_wire = render_request(next, route_prefix(kKeepAliveProbe),
                                   {{"X-Upfault-Scenario", std::string(kKeepAliveProbe)}}, host);
    // The scenario's evidence is what the upstream saw before the probe went out.
    fo.before_probe = [&] { r.upstream = upstream.log(s.name), logged = true; };
  }
  // Repeated requests go one after another; the last one is judged, the earlier ones recorded.
  r.client = co_await converse_async(fo, std::move(wires), s.request.connections, s.request.method == "HEAD");
  if (!logged) r.upstream = upstream.log(s.name);
  r.setup.plain_on_tls = upstream.plain_on_tls(port_name(s.endpoint, s.protocol));
  r.verdict = evaluate(s, r, judge);
  if (r.verdict.kind == VerdictKind::fail && tls_setup_may_explain(s, r)) {
    // A ClientHello on a plaintext port is noted before that port closes, so before the proxy answers;
    // the proxy's alert or close after a TLS 1.3 handshake may still be on its way: waited for, bounded.
    r.setup.tls_on_plain = upstream.tls_misrouted();
    if (r.setup.tls_on_plain.empty())
      r.setup.tls_refusal = co_await tls_refusal(upstream, options.timeouts.read + std::chrono::seconds(2));
    r.verdict = evaluate(s, r, judge);
  }
  co_return r;
}

// The suite's scenarios [first, last) through the proxy. Each result shares its scenario with
// `suite`, so results stay valid on their own, and the suite is copied once per run, not per call.
std::vector<ScenarioResult> run_range(const std::shared_ptr<const std::vector<Scenario>>& suite, std::size_t first,
                                      std::size_t last, FakeUpstream& upstream, const RunOptions& options) {
  std::vector<ScenarioResult> results(last - first);
  asio::io_context ioc{1};
  // A stop signal abandons the scenarios in flight; the ones that finished are returned.
  interrupt::Hook on_stop([&ioc] { ioc.stop(); });
  std::size_t next = first;
  const unsigned jobs =
      options.jobs == 0 ? static_cast<unsigned>(std::max<std::size_t>(1, last - first)) : options.jobs;

  auto worker = [&]() -> awaitable<void> {
    while (next < last) {  // one thread: no race on `next`
      const std::size_t i = next++;
      const Scenario& s = (*suite)[i];
      if (std::find(options.protocols.begin(), options.protocols.end(), s.protocol) == options.protocols.end()) {
        results[i - first] = not_run(s, options, std::shared_ptr<const Scenario>(suite, &s));
        if (options.on_result) options.on_result(results[i - first]);
        continue;
      }
      ScenarioResult r = co_await run_one(s, upstream, options);
      r.scenario = std::shared_ptr<const Scenario>(suite, &s);  // set last: a result without one never finished
      if (options.annotate) r.note = options.annotate(r);
      results[i - first] = std::move(r);
      if (options.on_result) options.on_result(results[i - first]);
    }
  };
  for (unsigned j = 0; j < std::min<std::size_t>(jobs, last - first); ++j)
    asio::co_spawn(ioc, worker(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  ioc.run();
  std::erase_if(results, [](const ScenarioResult& r) { return r.scenario == nullptr; });
  return results;
}

}  // namespace

std::vector<ScenarioResult> run_scenarios(const std::vector<Scenario>& scenarios, FakeUpstream& upstream,
                                          const RunOptions& options) {
  return run_range(std::make_shared<const std::vector<Scenario>>(scenarios), 0, scenarios.size(), upstream, options);
}

namespace {

// One scenario at a time, so a proxy's crash is pinned on the scenario that caused it; the proxy
// is then restarted for the next one.
void run_with_restarts(const std::shared_ptr<const std::vector<Scenario>>& suite, Rig& rig, const RunOptions& ro,
                       SuiteRun& run) {
  RunOptions inner = ro;
  inner.on_result = nullptr;  // reported below, once the crash check has had its say
  for (std::size_t i = 0; i < suite->size(); ++i) {
    inner.proxy_port = rig.proxy_port();
    auto r = run_range(suite, i, i + 1, rig.upstream(), inner);
    if (r.empty()) return;  // interrupted
    // A proxy that crashes while handling the request ends the client's connection by dying:
    // the close the client saw is then followed by the proxy's exit, which is waited for (not
    // guessed from a time window).
    auto& process = *rig.process();
    const bool crashed = !process.alive() || (r[0].client.ending != Ending::complete && process.dying());
    if (crashed) {
      r[0].proxy_crash = process.exit_description();
      r[0].verdict = evaluate(*r[0].scenario, r[0], judging(ro));
      ++run.crashes;
      if (auto restarted = rig.restart_proxy(); !restarted) {
        run.proxy_died = "could not be restarted after a crash: " + restarted.error().message;
        run.results.push_back(std::move(r[0]));
        return;
      }
    }
    if (ro.on_result) ro.on_result(r[0]);
    run.results.push_back(std::move(r[0]));
  }
}

// Through --proxy-url upfault cannot see the proxy die: after the pass it asks whether the proxy
// still accepts connections and, if it does, whether on the sockets it listened on before the pass
// (`before`): a supervisor that restarted it at once leaves it accepting on new ones. If it
// stopped, that is said once — which scenarios lost their connection in flight, how many found
// nothing accepting — and what got no complete response is an error, as after the death of a
// proxy upfault started.
void name_stopped_proxy(SuiteRun& run, const RunOptions& ro, const Listener& before) {
  const bool lost = std::any_of(run.results.begin(), run.results.end(), [](const ScenarioResult& r) {
    return r.verdict.kind != VerdictKind::not_run && r.client.ending != Ending::complete;
  });
  if (!lost) return;
  const bool accepting = accepts_connections(ro.proxy_host, ro.proxy_port);
  const auto after = accepting ? listening_sockets(ro.proxy_host, ro.proxy_port) : std::vector<std::uint64_t>{};
  const bool replaced =
      !before.sockets.empty() && !after.empty() && std::none_of(after.begin(), after.end(), [&](auto s) {
        return std::find(before.sockets.begin(), before.sockets.end(), s) != before.sockets.end();
      });
  // The same socket may still accept while the process that holds it dies (it was killed and its
  // memory is being released): a holder that is gone or exiting stopped the proxy too.
  const bool dying =
      !before.holders.empty() && std::all_of(before.holders.begin(), before.holders.end(), reaper::gone_or_exiting);
  if (accepting && !replaced && !dying) return;
  const std::string how = replaced ? "was restarted (it listens on new sockets)" : "stopped accepting connections";
  std::vector<std::string> in_flight;
  std::size_t refused = 0;
  for (const auto& r : run.results) {
    if (r.verdict.kind == VerdictKind::not_run || r.client.ending == Ending::complete || r.client.header_complete)
      continue;
    if (r.client.ending == Ending::connect_failed)
      ++refused;
    else
      in_flight.push_back(r.scenario->name);
  }
  const auto where = authority(ro.proxy_host, ro.proxy_port);
  run.proxy_died = fmt::format(
      "the proxy at {} {} during the run: {} scenario(s) lost their connection in flight ({}{}), {} found nothing "
      "accepting",
      where, how, in_flight.size(),
      fmt::join(in_flight.begin(),
                in_flight.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(8, in_flight.size())), ", "),
      in_flight.size() > 8 ? ", …" : "", refused);
  note_death(run.results, fmt::format("the proxy at {} {}", where, how), judging(ro));
}

// A lane whose rig could not start (the proxy, the upstream, or pre-flight): why, and who, for the reports.
SuiteRun not_started(const Problem& why, const SuiteOptions& options) {
  SuiteRun run;
  run.setup_error = why.message;
  run.interrupted = interrupt::received();
  run.proxy.name = options.profile ? options.profile->name : options.proxy_name;
  if (!options.profile) run.proxy.url = "http://" + authority(options.proxy_host, options.proxy_port);
  return run;
}

SuiteRun run_one_lane(const std::vector<Scenario>& scenarios, const SuiteOptions& options) {
  SuiteRun run;
  RigOptions rio;
  rio.upstream.ports = options.ports;
  rio.upstream.timeouts = options.run.timeouts;
  rio.upstream.verbose = options.verbose_upstream;
  rio.check_routes = options.check_routes;
  if (options.profile) {
    rio.profile = options.profile;
    rio.profile->timeouts = options.run.timeouts;  // the config is rendered with the timeouts the verdicts assume
  } else {
    rio.proxy = HostPort{options.proxy_host, options.proxy_port, "/"};
    rio.proxy_name = options.proxy_name;
    if (!options.detect_protocols) rio.protocols = options.run.protocols;
  }
  // A proxy of the user's is known by the sockets it listens on before the pass.
  Listener listeners;
  if (!options.profile) {
    listeners.sockets = listening_sockets(options.proxy_host, options.proxy_port);
    listeners.holders = holders_of(listeners.sockets);
  }
  auto started = Rig::start(scenarios, std::move(rio));
  if (!started) return not_started(started.error(), options);
  auto& rig = *started;
  run.proxy = rig->info();
  if (options.on_ready) options.on_ready(run.proxy, rig->upstream().ports());

  RunOptions ro = options.run;
  if (options.profile) {
    ro.protocols = options.profile->upstream_protocols;
    ro.not_run_because = options.profile->not_tested;
  } else {  // a proxy of the user's speaks what --upstream-protocols says, or what pre-flight found
    const auto& found = rig->preflight();
    if (options.detect_protocols) ro.protocols = found.reached;
    for (auto p : {UpstreamProtocol::http1, UpstreamProtocol::https, UpstreamProtocol::h2c, UpstreamProtocol::h2}) {
      if (auto why = found.not_routed.find(p); why != found.not_routed.end()) {
        ro.not_run_because.try_emplace(p, fmt::format("{} (`upfault routes` prints the lines)", why->second));
        continue;
      }
      ro.not_run_because.try_emplace(
          p, fmt::format("--upstream-protocols does not name it; add {} when your routes reach its port "
                         "(`upfault routes` prints them)",
                         to_string(p)));
    }
  }
  ro.proxy_host = rig->proxy_host();
  ro.proxy_port = rig->proxy_port();
  const auto suite = std::make_shared<const std::vector<Scenario>>(scenarios);
  const auto t0 = Clock::now();
  ProxyProcess* process = rig->process();
  if (process && options.restart_after_crash && ro.jobs == 1) {
    run_with_restarts(suite, *rig, ro, run);
    process = rig->process();
  } else {
    run.results = run_range(suite, 0, suite->size(), rig->upstream(), ro);
    // A proxy that died while the last scenarios ran still died during the run.
    if (process && process->alive()) (void)process->dying();
  }
  run.interrupted = interrupt::received();
  run.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!process && !run.interrupted) name_stopped_proxy(run, ro, listeners);
  if (process && !process->alive() && run.proxy_died.empty()) {
    // A proxy that went to the background says what to change in its config.
    const auto& fix = process->background();
    run.proxy_died = process->ended(run.proxy.name, "during the run");
    note_death(run.results,
               fmt::format("{} {}{}{}", run.proxy.name, process->exit_description(), fix.empty() ? "" : ": ", fix),
               judging(ro));
  }
  if (process) run.proxy_log = process->log_tail(8);
  rig->stop();
  return run;
}

}  // namespace

std::vector<std::size_t> lane_of(std::size_t suite_size, unsigned lane, unsigned lanes) {
  std::vector<std::size_t> out;
  for (std::size_t i = lane; i < suite_size; i += std::max(1u, lanes)) out.push_back(i);
  return out;
}

namespace {

// Lanes: one proxy instance (and fake upstream) per lane, each on its own thread, its scenarios
// one at a time; the results are put back in the suite's order.
SuiteRun run_lanes(const std::vector<Scenario>& scenarios, const SuiteOptions& options) {
  const unsigned lanes = static_cast<unsigned>(std::min<std::size_t>(options.lanes, scenarios.size()));
  std::vector<SuiteRun> runs(lanes);
  std::vector<std::vector<std::size_t>> members(lanes);
  std::mutex serial;  // on_result and on_ready are called as from one thread
  bool ready_told = false;
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < lanes; ++k) {
    members[k] = lane_of(scenarios.size(), k, lanes);
    threads.emplace_back([&, k] {
      std::vector<Scenario> mine;
      for (auto i : members[k]) mine.push_back(scenarios[i]);
      SuiteOptions o = options;
      o.lanes = 1;
      o.run.jobs = 1;
      o.ports = {};  // each lane's upstream and endpoints on ports of its own
      o.on_ready = [&](const ProxyInfo& info, const EndpointPorts& ports) {
        std::lock_guard lock(serial);
        if (std::exchange(ready_told, true) || !options.on_ready) return;
        options.on_ready(info, ports);
      };
      o.run.on_result = [&](const ScenarioResult& r) {
        std::lock_guard lock(serial);
        if (options.run.on_result) options.run.on_result(r);
      };
      runs[k] = run_one_lane(mine, o);
    });
  }
  for (auto& t : threads) t.join();

  SuiteRun run;
  run.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<std::optional<ScenarioResult>> ordered(scenarios.size());
  for (unsigned k = 0; k < lanes; ++k) {
    auto& r = runs[k];
    if (run.proxy.name.empty()) run.proxy = r.proxy;
    auto lane_said = [&](std::string& into, const std::string& what) {
      if (!what.empty()) into += fmt::format("{}lane {} of {}: {}", into.empty() ? "" : "\n", k + 1, lanes, what);
    };
    lane_said(run.setup_error, r.setup_error);
    lane_said(run.proxy_died, r.proxy_died);
    lane_said(run.proxy_log, r.proxy_log);
    run.crashes += r.crashes;
    run.interrupted = std::max(run.interrupted, r.interrupted);
    // A lane's results are its scenarios in order, up to where it stopped (interrupted).
    for (std::size_t j = 0; j < r.results.size() && j < members[k].size(); ++j)
      ordered[members[k][j]] = std::move(r.results[j]);
  }
  for (auto& r : ordered)
    if (r) run.results.push_back(std::move(*r));
  return run;
}

}  // namespace

SuiteRun run_suite(const std::vector<Scenario>& scenarios, const SuiteOptions& options) {
  const bool lanes = options.lanes > 1 && options.profile && scenarios.size() > 1;
  if (!options.isolate) return lanes ? run_lanes(scenarios, options) : run_one_lane(scenarios, options);
  // A parallel pass is short (its slowest scenario): its results are told once the isolation
  // reruns have replaced the verdicts the proxy's state decided, in the suite's order. A pass one
  // at a time tells them as they come, and a rerun's again.
  const bool parallel = !lanes && options.run.jobs != 1;
  SuiteOptions pass = options;
  if (parallel) pass.run.on_result = nullptr;
  SuiteRun run = lanes ? run_lanes(scenarios, pass) : run_one_lane(scenarios, pass);
  const auto t0 = Clock::now();
  const auto rerun = isolate(scenarios, options, run);
  run.wall_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  if (options.run.on_result)
    for (std::size_t i = 0; i < run.results.size(); ++i)
      if (parallel || std::binary_search(rerun.begin(), rerun.end(), i)) options.run.on_result(run.results[i]);
  return run;
}

}  // namespace upfault
