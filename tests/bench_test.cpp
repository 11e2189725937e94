// The load generator: mix parsing and scheduling, constant-rate pacing against an injected
// clock, and error classification against faults the fake upstream really produces.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "support.hpp"
#include "upfault/bench.hpp"
#include "upfault/loader.hpp"

using namespace upfault;
using upfault::test::with_steps;
using namespace std::chrono_literals;

TEST(BenchMix, ParsesNamesAndWeights) {
  auto m = parse_mix("ok=90,silent=5,reset=5");
  ASSERT_TRUE(m) << m.error();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0], (std::pair<std::string, unsigned>{"ok", 90}));
  EXPECT_EQ((*m)[2], (std::pair<std::string, unsigned>{"reset", 5}));
}

TEST(BenchMix, RejectsWhatIsNotNameEqualsWeight) {
  for (const char* bad : {"", "ok", "=5", "ok=0", "ok=-1", "ok=1.5", "ok=5x", "ok=1,ok=2", "ok=99999999999"}) {
    auto m = parse_mix(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_FALSE(m.error().message.empty()) << bad;
  }
}

// Options the bench cannot run are a problem, said before anything is sent.
TEST(BenchRun, OptionsItCannotRunAreAProblem) {
  BenchOptions o;
  EXPECT_EQ(run_bench(o).error().message, "upfault bench: the mix is empty");
  o.mix = {MixEntry{"ok", 1, "/__upfault/ok/", true}};
  o.connections = 0;
  EXPECT_EQ(run_bench(o).error().message, "upfault bench: at least one connection is needed");
  o.connections = 1;
  o.host = "upfault.invalid";
  EXPECT_EQ(run_bench(o).error().message.rfind("upfault.invalid is not an IP address", 0), 0u);
}

TEST(BenchMix, ScheduleHasExactSharesSpreadEvenly) {
  auto s = mix_schedule({90, 5, 5});
  ASSERT_EQ(s.size(), 20u);  // divided by the common factor
  EXPECT_EQ(std::count(s.begin(), s.end(), 0u), 18);
  EXPECT_EQ(std::count(s.begin(), s.end(), 1u), 1);
  EXPECT_EQ(std::count(s.begin(), s.end(), 2u), 1);
  // The two faulty requests are not next to each other, around the cycle too.
  auto one = std::find(s.begin(), s.end(), 1u) - s.begin();
  auto two = std::find(s.begin(), s.end(), 2u) - s.begin();
  EXPECT_GE(std::min(std::abs(one - two), 20 - std::abs(one - two)), 5);

  auto t = mix_schedule({3, 1});
  EXPECT_EQ(t, (std::vector<std::size_t>{0, 0, 1, 0}));
  EXPECT_EQ(mix_schedule({7}), std::vector<std::size_t>{0});
}

// Pacing with an injected clock: a simulated server answers in 1 ms, except one 1 s stall.
// Open loop (latency from the intended time) must show the stall in p99; measuring from the
// send time (closed loop, coordinated omission) hides it.
TEST(BenchPacer, IntendedTimesDoNotDriftAndAStallReachesTheTail) {
  using TP = Pacer::time_point;
  const TP t0{};          // the injected clock starts at zero
  Pacer pacer(t0, 10ms);  // 100 requests/s
  Histogram open_loop, from_send;
  TP now = t0;
  for (int k = 0; k < 1000; ++k) {
    auto slot = pacer.next(now);
    EXPECT_EQ(slot.intended, t0 + 10ms * k);  // due times never drift, whatever happened before
    EXPECT_EQ(slot.send_at, std::max(now, slot.intended));
    now = slot.send_at + (k == 100 ? 1000ms : 1ms);
    open_loop.record(static_cast<std::uint64_t>(std::chrono::nanoseconds(now - slot.intended).count()));
    from_send.record(static_cast<std::uint64_t>(std::chrono::nanoseconds(now - slot.send_at).count()));
  }
  EXPECT_EQ(pacer.issued(), 1000u);
  // The ~100 requests due during the stall waited for it: the slowest 1 % all waited > 0.9 s.
  EXPECT_GE(open_loop.percentile(99), 900'000'000u);
  EXPECT_LE(open_loop.percentile(50), 1'001'000u);
  EXPECT_GE(open_loop.max(), 1'000'000'000u);
  // From the send time only the stalled request itself is slow: p99 stays at 1 ms.
  EXPECT_LE(from_send.percentile(99), 1'001'000u);
  // The sender caught up: after the stall, requests go out back to back, then on schedule again.
  EXPECT_EQ(pacer.next(now).send_at, now > t0 + 10s ? now : t0 + 10s);
}

TEST(BenchPacer, SendsOnScheduleWhenTheServerIsFast) {
  using TP = Pacer::time_point;
  Pacer pacer(TP{} + 5ms, 2ms);
  TP now{};
  for (int k = 0; k < 100; ++k) {
    auto slot = pacer.next(now);
    EXPECT_EQ(slot.send_at, slot.intended);
    now = slot.send_at + 100us;
  }
}

namespace {

// A healthy upstream: a small 200 on a kept-alive connection.
Scenario ok_scenario() {
  return test::scenario(with_steps("ok",
                                   "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                   "response = { status = 200, body = \"hello\" }\n"));
}

// Runs a short bench straight against the fake upstream.
BenchResult bench_against(test::Upstream& up, std::uint16_t port, const std::string& scenario, std::uint64_t requests,
                          Millis timeout = Millis{3000}, Millis connect_timeout = Millis{2000}) {
  BenchOptions o;
  o.port = port;
  o.mix = {MixEntry{scenario, 1, route_prefix(scenario) + "/", true}};
  o.connections = 2;
  o.threads = 1;
  o.requests = requests;
  o.timeout = timeout;
  o.connect_timeout = connect_timeout;
  (void)up;
  return run_bench(o).value();
}

std::uint64_t errors_of(const BenchResult& r, BenchError e) { return r.total.errors[static_cast<std::size_t>(e)]; }

}  // namespace

TEST(BenchRun, CountsEveryHealthyResponseByStatus) {
  auto ok = ok_scenario();
  test::Upstream up({ok});
  auto r = bench_against(up, up.up.port(), "ok", 500);
  EXPECT_EQ(r.total.responses, 500u);
  EXPECT_EQ(r.total.status[200], 500u);
  EXPECT_EQ(r.total.errors_total(), 0u);
  EXPECT_EQ(r.total.latency.count(), 500u);
  EXPECT_EQ(r.connects, 2u);  // keep-alive: one connection each, never reopened
  EXPECT_GT(r.requests_per_second(), 0.0);
}

TEST(BenchRun, MixSendsExactSharesAndReportsHealthyAndFaultyApart) {
  auto ok = ok_scenario();
  auto gone = test::scenario(with_steps("gone",
                                        "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                        "response = { status = 503 }\n"));
  auto rst = test::scenario(
      with_steps("rst", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nclose = \"rst\"\n"));
  test::Upstream up({ok, gone, rst});
  BenchOptions o;
  o.port = up.up.port();
  o.mix = {
      {"ok", 6, "/__upfault/ok/", true}, {"gone", 2, "/__upfault/gone/", false}, {"rst", 2, "/__upfault/rst/", false}};
  o.connections = 1;
  o.threads = 1;
  o.requests = 500;
  auto r = run_bench(o).value();
  EXPECT_EQ(r.per_entry[0].status[200], 300u);
  EXPECT_EQ(r.per_entry[1].status[503], 100u);
  EXPECT_EQ(r.per_entry[2].errors[static_cast<std::size_t>(BenchError::reset)], 100u);
  EXPECT_EQ(r.healthy.responses, 300u);
  EXPECT_EQ(r.healthy.errors_total(), 0u);
  EXPECT_EQ(r.faulty.responses, 100u);
  EXPECT_EQ(r.faulty.errors_total(), 100u);
  EXPECT_EQ(r.total.responses, 400u);
  EXPECT_GE(r.connects, 101u);        // a new connection after each reset
  EXPECT_GT(r.side_connections, 0u);  // the faulty share went on side connections
}

// Without side connections every request goes on the one connection, in schedule order.
TEST(BenchRun, WithoutSideConnectionsTheMixSharesOneConnection) {
  auto ok = ok_scenario();
  auto rst = test::scenario(
      with_steps("rst", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nclose = \"rst\"\n"));
  test::Upstream up({ok, rst});
  BenchOptions o;
  o.port = up.up.port();
  o.mix = {{"ok", 4, "/__upfault/ok/", true}, {"rst", 1, "/__upfault/rst/", false}};
  o.connections = 1;
  o.threads = 1;
  o.requests = 100;
  o.side_connections = 0;
  auto r = run_bench(o).value();
  EXPECT_EQ(r.healthy.status[200], 80u);
  EXPECT_EQ(r.faulty.errors[static_cast<std::size_t>(BenchError::reset)], 20u);
  EXPECT_EQ(r.side_connections, 0u);
  EXPECT_EQ(r.connects, 21u);  // the first connection, and one after each of the 20 resets
}

// A silent share is held on side connections while the healthy connection goes on; with
// --requests the run waits for the faulty exchanges to end (here: time out) before it stops.
TEST(BenchRun, SilentShareTimesOutOnSideConnectionsAndIsCounted) {
  auto ok = ok_scenario();
  auto silent =
      test::scenario(with_steps("silent", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nhang = true\n"));
  test::Upstream up({ok, silent});
  BenchOptions o;
  o.port = up.up.port();
  o.mix = {{"ok", 9, "/__upfault/ok/", true}, {"silent", 1, "/__upfault/silent/", false}};
  o.connections = 2;
  o.threads = 1;
  o.requests = 200;
  o.timeout = Millis{300};
  auto r = run_bench(o).value();
  EXPECT_EQ(r.healthy.status[200], 180u);
  EXPECT_EQ(r.faulty.errors[static_cast<std::size_t>(BenchError::timeout)], 20u);
  EXPECT_EQ(r.in_flight_at_end, 0u);
  EXPECT_GT(r.side_connections, 0u);
  EXPECT_EQ(r.side_exhausted, 0u);
}

// Each scripted fault is reported as its own kind, never as a lumped socket error.
struct FaultCase {
  const char* name;
  const char* steps;
  BenchError kind;
};

class BenchClassifies : public ::testing::TestWithParam<FaultCase> {};

TEST_P(BenchClassifies, ScriptedFault) {
  const auto& c = GetParam();
  auto s = test::scenario(with_steps(c.name, c.steps));
  test::Upstream up({s});
  auto r = bench_against(up, up.up.port(), c.name, 4, Millis{300});
  EXPECT_EQ(errors_of(r, c.kind), 4u) << "expected 4 × " << to_string(c.kind);
  EXPECT_EQ(r.total.errors_total(), 4u);
  EXPECT_EQ(r.total.responses, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, BenchClassifies,
    ::testing::Values(
        FaultCase{"reset", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nclose = \"rst\"\n",
                  BenchError::reset},
        FaultCase{"closed", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nclose = \"fin\"\n",
                  BenchError::closed_before_header},
        FaultCase{"mid_header",
                  "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nX-A\"\n"
                  "[[upstream.steps]]\nclose = \"fin\"\n",
                  BenchError::closed_before_header},
        FaultCase{
            "mid_body",
            "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
            "send = \"HTTP/1.1 200 OK\\r\\nContent-Length: 10\\r\\n\\r\\nabc\"\n[[upstream.steps]]\nclose = \"fin\"\n",
            BenchError::closed_mid_body},
        FaultCase{"garbage",
                  "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nsend = \"SSH-2.0-OpenSSH\\r\\n\\r\\n\"\n"
                  "[[upstream.steps]]\nclose = \"fin\"\n",
                  BenchError::parse_error},
        FaultCase{"silent", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nhang = true\n",
                  BenchError::timeout}),
    [](const ::testing::TestParamInfo<FaultCase>& p) { return std::string(p.param.name); });

TEST(BenchRun, ConnectRefusedAndConnectTimeoutAreTheirOwnKinds) {
  auto s = test::scenario(with_steps("x", "[[upstream.steps]]\nread = \"request\"\n"));
  test::Upstream up({s});
  auto refused = bench_against(up, up.up.refused_port(), "x", 3);
  EXPECT_EQ(errors_of(refused, BenchError::connect_refused), 3u);
  EXPECT_EQ(refused.total.errors_total(), 3u);

  // The blackhole endpoint's accept queue is full, so the handshake never completes.
  auto bh = test::scenario(with_steps("bh", "[upstream]\nendpoint = \"blackhole\"\n"));
  up.up.add(bh);  // fills the queue
  auto timed = bench_against(up, up.up.ports().blackhole, "bh", 2, Millis{3000}, Millis{200});
  EXPECT_EQ(errors_of(timed, BenchError::connect_timeout), 2u);
  EXPECT_EQ(timed.total.errors_total(), 2u);
}

TEST(BenchRun, InterimResponsesAreSkippedNotCountedAsFinal) {
  auto s = test::scenario(with_steps("hints",
                                     "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                     "send = \"HTTP/1.1 103 Early Hints\\r\\nLink: </a>\\r\\n\\r\\n\"\n"
                                     "[[upstream.steps]]\nresponse = { status = 204 }\n"));
  test::Upstream up({s});
  auto r = bench_against(up, up.up.port(), "hints", 10);
  EXPECT_EQ(r.total.status[204], 10u);
  EXPECT_EQ(r.total.status.count(103), 0u);
}

// The per-second series and the requests sent add up to what the totals say, second by second.
TEST(BenchRun, SeriesAddsUpToTheTotals) {
  auto ok = ok_scenario();
  auto gone = test::scenario(with_steps("gone",
                                        "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                        "response = { status = 503 }\n"));
  auto rst = test::scenario(
      with_steps("rst", "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nclose = \"rst\"\n"));
  test::Upstream up({ok, gone, rst});
  BenchOptions o;
  o.port = up.up.port();
  o.mix = {
      {"ok", 8, "/__upfault/ok/", true}, {"gone", 1, "/__upfault/gone/", false}, {"rst", 1, "/__upfault/rst/", false}};
  o.connections = 2;
  o.threads = 2;
  // A constant rate over a duration that ends inside a second: the last second is a partial one.
  o.rate = 400;
  o.duration = Millis{1500};
  auto r = run_bench(o).value();
  ASSERT_EQ(r.series.size(), 2u);
  std::uint64_t responses = 0, errors = 0, healthy = 0, faulty_errors = 0, counted = 0, max = 0;
  for (const auto& s : r.series) {
    const auto all = s.all();
    responses += all.responses;
    errors += all.errors;
    healthy += s.healthy.responses;
    faulty_errors += s.faulty.errors;
    counted += all.latency().count();
    max = std::max(max, all.max_ns);
    EXPECT_EQ(s.healthy.errors, 0u);
  }
  EXPECT_EQ(responses, r.total.responses);
  EXPECT_EQ(counted, r.total.responses);
  EXPECT_EQ(errors, r.total.errors_total());
  EXPECT_EQ(healthy, r.healthy.responses);
  EXPECT_EQ(faulty_errors, r.faulty.errors_total());
  EXPECT_EQ(max, r.total.latency.max());
  EXPECT_GT(r.total.responses, 0u);
  EXPECT_GT(r.faulty.errors_total(), 0u);
  // Every request sent in the window was answered, failed or is still in flight.
  EXPECT_EQ(r.sent, r.total.responses + r.total.errors_total() + r.in_flight_at_end);
  EXPECT_GT(r.achieved_rate(), 0.0);
}

// A faulty entry is judged by the statuses its scenario accepts; one that accepts only an aborted
// response takes no complete one; a healthy one, or one that accepts any status, is not judged.
TEST(BenchMix, FaultyAnswersAreJudgedByTheStatusesTheScenarioAccepts) {
  auto corpus = load_scenarios({UPFAULT_SCENARIOS_DIR});
  ASSERT_TRUE(corpus.errors.empty());
  auto mix = resolve_mix({{"ok-200-baseline", 1}, {"duplicate-content-length", 1}, {"origin-504-passthrough", 1}},
                         corpus.scenarios);
  ASSERT_TRUE(mix) << mix.error();
  EXPECT_FALSE((*mix)[0].judged);  // healthy: passthrough
  EXPECT_TRUE((*mix)[1].judged);
  EXPECT_EQ((*mix)[1].accepts, std::vector<int>{502});
  BenchStats s;
  s.status = {{200, 7}, {502, 3}};
  EXPECT_EQ(wrong_answers((*mix)[1], s), 7u);
  EXPECT_EQ(wrong_answers((*mix)[0], s), 0u);
  auto cut = load_scenario_text(
      with_steps("cut", "[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\n\"\n", "[expect]\naborted = true\n"),
      "cut.toml");
  ASSERT_TRUE(cut.errors.empty()) << cut.errors.front().message;
  auto only_aborted = resolve_mix({{"cut", 1}}, cut.scenarios);
  ASSERT_TRUE(only_aborted) << only_aborted.error();
  EXPECT_TRUE((*only_aborted)[0].judged);
  EXPECT_TRUE((*only_aborted)[0].accepts.empty());
  EXPECT_EQ(wrong_answers((*only_aborted)[0], s), 10u);  // every complete response is wrong
}

// wrong>0 gates only what can be judged: a mix without a judged entry has nothing to judge.
TEST(BenchGate, WrongNeedsAJudgedEntry) {
  auto f = parse_fail_if("wrong>0");
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->metric, FailIf::Metric::wrong);
  MixEntry ok{"ok", 1, "/", true}, judged{"dup", 1, "/", false};
  judged.judged = true;
  judged.accepts = {502};
  EXPECT_FALSE(check_fail_if(*f, {ok}));
  EXPECT_TRUE(check_fail_if(*f, {ok, judged}));
  EXPECT_FALSE(check_fail_if(*parse_fail_if("healthy.wrong>0"), {ok, judged}));
  BenchResult r;
  r.faulty.wrong = r.total.wrong = 3;
  r.total.responses = r.faulty.responses = 3;
  const auto out = evaluate_fail_if({*f}, r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].failed);
  EXPECT_EQ(out[0].value, 3.0);
}
