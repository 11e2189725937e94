#include "run/isolation.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <thread>

#include "upfault/interrupt.hpp"
#include "upfault/rig.hpp"
#include "upfault/verdict.hpp"

namespace upfault {

std::optional<IsolationReason> isolation_reason(const ScenarioResult& r) {
  using enum IsolationReason::Kind;
  // A crash already pinned on its scenario (run alone) is that scenario's verdict.
  if (!r.scenario || r.verdict.kind == VerdictKind::not_run || !r.proxy_crash.empty()) return std::nullopt;
  if (!r.proxy_died.empty() && r.client.ending != Ending::complete)
    return IsolationReason{in_flight_at_death,
                           fmt::format("its request was in flight when the proxy died ({})", r.proxy_died)};
  if (refused_untested(r.upstream))
    return IsolationReason{refused,
                           "the upstream refused its request, which came on a connection serving another scenario"};
  if (r.verdict.kind == VerdictKind::error && refused_elsewhere(r.upstream))
    return IsolationReason{refused,
                           "the upstream refused a later request of it (the proxy's retry), which came on a connection "
                           "serving another scenario"};
  if (r.verdict.kind == VerdictKind::fail && r.scenario->endpoint == Endpoint::scripted &&
      r.upstream.connections.empty())
    return IsolationReason{never_delivered,
                           "its scripted fault never reached the upstream (the proxy answered without asking it)"};
  // An endpoint's fault (a refused or silent port, a TLS handshake that stalls or fails) leaves no
  // per-scenario trace upstream, and a proxy may back off after one: a failure is checked alone.
  if (r.verdict.kind == VerdictKind::fail && r.scenario->endpoint != Endpoint::scripted)
    return IsolationReason{never_delivered,
                           "its endpoint fault failed, which the proxy's memory of an earlier one (a backoff after a "
                           "failed connect or handshake) may have decided"};
  return std::nullopt;
}

namespace {

// At most this many scenarios rerun at once, each with a proxy and an upstream of its own.
constexpr unsigned kMaxConcurrent = 8;

// How long the reruns wait for a --proxy-url proxy that stopped accepting to accept again.
constexpr Millis kComeBack{10000};

// Whether the proxy accepts connections, asked every 100 ms until kComeBack: nothing tells upfault
// when a proxy it did not start is back.
bool comes_back(const std::string& host, std::uint16_t port) {
  const auto until = std::chrono::steady_clock::now() + kComeBack;
  while (!interrupt::received()) {
    if (accepts_connections(host, port, Millis{1000})) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(Millis{100});
  }
  return false;
}

// Each scenario alone: its own fake upstream and, for a profile, its own proxy instance.
std::vector<SuiteRun> rerun_each_alone(const std::vector<Scenario>& again, const SuiteOptions& options) {
  SuiteOptions o = options;
  o.isolate = false;
  o.lanes = 1;
  o.run.jobs = 1;
  o.restart_after_crash = true;  // a crash alone is pinned on its scenario
  // The pass checked the profile's routes (the same config); its suite met a fresh instance, as a
  // rerun does without pre-flight. Through --proxy-url pre-flight finds the protocols again.
  o.check_routes = !options.profile;
  o.run.on_result = nullptr;
  o.on_ready = nullptr;
  const unsigned jobs = options.run.jobs == 0 ? kMaxConcurrent : options.run.jobs;
  // Through --proxy-url every rerun shares the one proxy (and the upstream ports it routes to).
  const unsigned workers = options.profile ? std::clamp<unsigned>(jobs, 1, kMaxConcurrent) : 1;
  std::vector<SuiteRun> runs(again.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < std::min<std::size_t>(workers, again.size()); ++w)
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < again.size() && !interrupt::received(); i = next++) try {
          // A proxy of the user's that the previous rerun took down gets the time to come back.
          if (!options.profile && i > 0 && !comes_back(options.proxy_host, options.proxy_port)) {
            runs[i].setup_error =
                fmt::format("the proxy at {} did not accept connections again within {} s",
                            authority(options.proxy_host, options.proxy_port), kComeBack.count() / 1000);
            continue;
          }
          runs[i] = run_suite({again[i]}, o);
        } catch (const std::exception& e) {  // on this thread it would end the process
          runs[i].setup_error = fmt::format("the rerun failed: {}", e.what());
        }
    });
  for (auto& t : threads) t.join();
  return runs;
}

std::string appended(const std::string& note, const std::string& more) {
  return note.empty() ? more : note + "; " + more;
}

}  // namespace

std::vector<std::size_t> isolate(const std::vector<Scenario>& scenarios, const SuiteOptions& options, SuiteRun& run) {
  if (run.interrupted || !run.setup_error.empty()) return {};
  std::vector<std::size_t> which;
  std::vector<IsolationReason> why;
  for (std::size_t i = 0; i < run.results.size(); ++i)
    if (auto reason = isolation_reason(run.results[i])) which.push_back(i), why.push_back(*reason);
  if (which.empty()) return {};
  std::map<std::string, const Scenario*> by_name;
  for (const auto& s : scenarios) by_name[s.name] = &s;
  std::vector<Scenario> again;
  for (auto i : which) again.push_back(*by_name.at(run.results[i].scenario->name));

  // A proxy of the user's that stopped accepting connections may come back (a supervisor restarts
  // it): the reruns wait for that, up to kComeBack; otherwise nothing can be rerun, said once.
  if (!options.profile && !comes_back(options.proxy_host, options.proxy_port)) {
    run.isolation = fmt::format(
        "{} scenario(s) not rerun alone: the proxy at {} did not accept connections again "
        "within {} s; restart it and run them again",
        which.size(), authority(options.proxy_host, options.proxy_port), kComeBack.count() / 1000);
    return {};
  }
  auto runs = rerun_each_alone(again, options);
  const std::string where = options.profile ? "rerun alone on a fresh proxy instance" : "rerun alone";
  std::vector<std::size_t> done;
  std::array<int, 3> count{};  // by IsolationReason::Kind
  int passed_alone = 0, unpinned = 0;
  for (std::size_t k = 0; k < which.size(); ++k) {
    auto& r = run.results[which[k]];
    const bool was_in_flight = why[k].kind == IsolationReason::Kind::in_flight_at_death;
    auto& iso = runs[k];
    // Through --proxy-url a proxy that stopped accepting, or was restarted, while this scenario ran
    // alone is pinned on it, as a crash of a proxy upfault started would be.
    if (!options.profile && iso.results.size() == 1 && iso.setup_error.empty() && !iso.proxy_died.empty()) {
      auto& alone = iso.results.front();
      alone.proxy_crash = "it stopped accepting connections, or was restarted, when this scenario ran alone";
      alone.proxy_died.clear();
      alone.verdict = evaluate(*alone.scenario, alone, judging(options.run));
      iso.proxy_died.clear();
      ++iso.crashes;
    }
    if (iso.results.size() != 1 || !iso.setup_error.empty() || !iso.proxy_died.empty()) {
      const auto& what = !iso.setup_error.empty() ? iso.setup_error : iso.proxy_died;
      r.note = appended(r.note, fmt::format("not {}: {}", where, what.empty() ? "the run was stopped" : what));
      unpinned += was_in_flight;
      continue;
    }
    ScenarioResult a = std::move(iso.results.front());
    run.crashes += iso.crashes;
    // A death takes every request in flight, and a refusal is the upstream's: only a fault that
    // never reached the upstream in the suite, yet passes alone, says the proxy's memory of
    // earlier scenarios decided it.
    const bool depends = why[k].kind == IsolationReason::Kind::never_delivered && a.verdict.kind == VerdictKind::pass;
    a.note = appended(a.note, fmt::format("{}: in the suite {}{}", where, why[k].text,
                                          depends ? "; it passes alone, so its verdict in the suite depended on "
                                                    "what earlier scenarios left in the proxy"
                                                  : ""));
    r = std::move(a);
    done.push_back(which[k]), ++count[static_cast<std::size_t>(why[k].kind)], passed_alone += depends;
  }
  const auto replaced = done.size();
  if (replaced == 0) return done;
  std::vector<std::string> parts;
  if (count[0]) parts.push_back(fmt::format("{} in flight when the proxy died", count[0]));
  if (count[1]) parts.push_back(fmt::format("{} refused on an upstream connection serving another scenario", count[1]));
  if (count[2])
    parts.push_back(
        fmt::format("{} whose fault never reached the upstream or whose endpoint fault failed, {} of which passed "
                    "alone (their verdicts in the suite depended on earlier scenarios)",
                    count[2], passed_alone));
  run.isolation = fmt::format("{} scenario(s) {} after the pass: {}", replaced, where, fmt::join(parts, "; "));
  // The death in the pass is accounted for when every scenario it may have decided was rerun.
  if (!run.proxy_died.empty() && unpinned == 0) {
    run.isolation += fmt::format("\nin the pass, {}", run.proxy_died);
    run.proxy_died.clear();
  }
  return done;
}

}  // namespace upfault
