#pragma once
/// `upfault bench`: an HTTP/1.1 load generator (keep-alive, N connections over M threads),
/// closed-loop like wrk or constant-rate like wrk2, with a per-request mix of upstream scenarios
/// whose healthy and faulty shares are reported apart.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/duration.hpp"
#include "upfault/histogram.hpp"
#include "upfault/problem.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// Why a request got no complete response. Every failure has exactly one kind.
enum class BenchError {
  connect_refused,       ///< nothing listens (ECONNREFUSED)
  connect_timeout,       ///< the connect did not complete within the connect timeout
  reset,                 ///< the peer reset the connection (ECONNRESET, EPIPE)
  closed_before_header,  ///< the peer closed (FIN) before the response header was complete
  closed_mid_body,       ///< the peer closed after the header, before the body was complete
  parse_error,           ///< the bytes are not a valid HTTP/1.1 response
  timeout,               ///< no complete response within the request timeout
  other,                 ///< any other socket error (e.g. out of local ports); see BenchStats::other_errors
};
inline constexpr std::size_t kBenchErrorKinds = 8;
[[nodiscard]] std::string_view to_string(BenchError e);

struct BenchStats;

/// One share of the traffic: `weight` of every sum-of-weights requests go to `target`.
struct MixEntry {
  MixEntry() = default;
  MixEntry(std::string n, unsigned w, std::string t, bool h)
      : name(std::move(n)), weight(w), target(std::move(t)), healthy(h) {}
  std::string name;  ///< the scenario's name (or "url" for a plain --url run)
  unsigned weight = 1;
  std::string target;   ///< request target, e.g. "/__upfault/ok/"
  bool healthy = true;  ///< counted with the healthy requests (the upstream answers validly)
  /// The scenario's upstream protocol ("http/1.1", "https", "h2c", "h2"); "" for a --url run.
  std::string protocol;
  /// A faulty entry whose answers are judged by status: a complete response is right when its
  /// status is one `accepts` holds (empty: its scenario accepts no complete response, only an
  /// aborted one or none). Not judged when an outcome it accepts takes any status (a check on
  /// headers alone) or it is healthy.
  bool judged = false;
  std::vector<int> accepts;
  /// A complete response with `status` is a right answer (or the entry is not judged).
  [[nodiscard]] bool accepted(int status) const {
    return !judged || std::find(accepts.begin(), accepts.end(), status) != accepts.end();
  }
};

/// The complete responses of `s` (one entry's counts) whose status the entry's scenario does not
/// accept: 0 when the entry is not judged.
[[nodiscard]] std::uint64_t wrong_answers(const MixEntry& entry, const BenchStats& s);

/// "ok=90,silent=5,reset=5" → {{"ok",90},{"silent",5},{"reset",5}}; weights are positive integers.
[[nodiscard]] Result<std::vector<std::pair<std::string, unsigned>>> parse_mix(std::string_view text);

/// The mix entries for `weights` (from parse_mix) over the scenarios `known`: each request goes to
/// the scenario's route, and a scenario is healthy when it expects the proxy to pass the upstream's
/// response through. Unknown names (with a did-you-mean) and scenarios the bench cannot send (it
/// sends GET without a body) are errors.
[[nodiscard]] Result<std::vector<MixEntry>> resolve_mix(const std::vector<std::pair<std::string, unsigned>>& weights,
                                                        const std::vector<Scenario>& known);

/// The order in which a connection walks the mix: a cycle of sum(weights) entry indexes in which
/// each entry appears `weight` times, spread evenly (smooth weighted round-robin), so that a
/// 90/5/5 mix never sends a burst of faulty requests and the shares are exact over every cycle.
[[nodiscard]] std::vector<std::size_t> mix_schedule(const std::vector<unsigned>& weights);

/// Constant-rate pacing for one connection (open loop, as wrk2): request k is due at
/// first + k·interval whatever happened before, and its latency counts from that intended
/// moment, so a stall delays every request scheduled during it and shows in the tail
/// (no coordinated omission).
class Pacer {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  Pacer(time_point first, std::chrono::nanoseconds interval) : first_(first), interval_(interval) {}
  struct Slot {
    time_point intended;  ///< when the request was due: latency counts from here
    time_point send_at;   ///< when to send it: the intended time, or now if that has passed
  };
  /// The next request's slot, given the current time.
  Slot next(time_point now);
  [[nodiscard]] std::uint64_t issued() const { return k_; }

 private:
  time_point first_;
  std::chrono::nanoseconds interval_;
  std::uint64_t k_ = 0;
};

/// Counts for one class of requests.
struct BenchStats {
  Histogram latency;  ///< nanoseconds, of complete responses
  std::uint64_t responses = 0;
  std::map<int, std::uint64_t> status;
  std::array<std::uint64_t, kBenchErrorKinds> errors{};
  std::map<std::string, std::uint64_t> other_errors;  ///< message → count, for BenchError::other
  /// Complete responses the scenario does not accept (faulty, judged entries: wrong_answers): a
  /// proxy's wrong answer, apart from the transport errors above.
  std::uint64_t wrong = 0;

  [[nodiscard]] std::uint64_t errors_total() const;
  void merge(const BenchStats& other);
};

/// One class of requests (healthy or faulty) in one second of the measured window.
struct BenchSlice {
  std::uint64_t responses = 0;  ///< complete responses that second
  std::uint64_t errors = 0;     ///< requests that failed that second
  std::uint64_t max_ns = 0;     ///< the slowest of those responses (exact)
  std::string counts;           ///< their latencies' counters (nanoseconds), as hdr_payload() encodes them

  /// The latencies as a histogram, with the exact max (min and sum from the counters' bounds).
  [[nodiscard]] Histogram latency() const;
  void merge(const BenchSlice& other);
};

/// What completed in second k of the measured window (from k to k + 1 s after its start).
struct BenchSecond {
  BenchSlice healthy, faulty;
  [[nodiscard]] BenchSlice all() const;  ///< both merged
};

/// What the bench reports once a second while it runs.
struct BenchProgress {
  double elapsed_seconds = 0;
  bool warming_up = false;
  std::uint64_t responses = 0;  ///< so far, in the measured window
  std::uint64_t errors = 0;
};

struct BenchOptions {
  std::string host = "127.0.0.1";  ///< a literal IPv4 or IPv6 address
  std::uint16_t port = 0;
  std::string host_header;    ///< the Host field (default: host:port)
  std::vector<MixEntry> mix;  ///< at least one entry
  unsigned connections = 64;
  unsigned threads = 2;
  Millis duration{10000};      ///< measured time (after the warm-up)
  std::uint64_t requests = 0;  ///< stop after this many requests instead (0: run for `duration`)
  double rate = 0;             ///< requests/s over all connections, open loop; 0: closed loop
  Millis timeout{5000};        ///< per request, from when it is sent
  Millis connect_timeout{2000};
  Millis warmup{0};  ///< run this long first, without counting
  /// When the mix has healthy and faulty entries, each faulty request goes on a side connection of
  /// its own (opened as needed, kept alive, at most this many), so a silent or slow faulty
  /// response never holds up the healthy requests queued behind it on one connection — the
  /// healthy figures then measure the proxy, not the load generator's own head-of-line blocking.
  /// When all are busy, the faulty request waits its turn on the healthy connection. 0: no side
  /// connections. Never more than the open-file limit (RLIMIT_NOFILE) leaves room for.
  unsigned side_connections = 10000;
  /// Called on the calling thread about once a second.
  std::function<void(const BenchProgress&)> on_progress;
};

struct BenchResult {
  double seconds = 0;                 ///< the measured window
  std::vector<BenchStats> per_entry;  ///< in the order of options.mix
  BenchStats total, healthy, faulty;
  std::uint64_t connects = 0;          ///< connections opened (including reconnects after errors)
  std::uint64_t in_flight_at_end = 0;  ///< requests still waiting when time ran out (not counted)
  std::uint64_t side_connections = 0;  ///< side connections opened for faulty requests
  std::uint64_t side_exhausted = 0;    ///< faulty requests sent on a healthy connection: no side connection was free
  int interrupted = 0;                 ///< the stop signal that ended the run early (interrupt.hpp), or 0
  std::uint64_t sent = 0;              ///< requests sent after the warm-up
  double send_seconds = 0;             ///< the time they were sent over (--requests --rate: until the last)
  std::vector<BenchSecond> series;     ///< one per second of the measured window; the last may be partial
  double started_at = 0;               ///< when the measured window began, in seconds since the Unix epoch
  [[nodiscard]] double requests_per_second() const;  ///< complete responses per second
  [[nodiscard]] double achieved_rate() const;        ///< requests sent per second
};

/// The entries' counts added up per upstream protocol, in the order the protocols first appear
/// in the mix (entries without one are left out).
[[nodiscard]] std::vector<std::pair<std::string, BenchStats>> stats_by_protocol(const BenchOptions& options,
                                                                                const BenchResult& result);

/// Drives load at options.host:port until the duration or request count is reached, or a stop
/// signal arrives (then what was measured until then). Options it cannot run (no mix, no
/// connection) are a problem.
[[nodiscard]] Result<BenchResult> run_bench(const BenchOptions& options);

/// What was measured, for reports.
struct BenchTarget {
  std::string url;    ///< where the load went
  std::string proxy;  ///< the profile started in front of the fake upstream ("" for --url)
  std::string proxy_version;
};

/// A --fail-if condition, which fails the run when it holds: `[SCOPE.]METRIC OP VALUE`, e.g.
/// "p99>5ms", "healthy.p99.9>=20ms", "rps<20000", "errors>0", "errors%>1", "status5xx>0".
/// SCOPE: healthy or faulty (default: all requests). METRIC: pN (any percentile, e.g. p50, p99.9),
/// max, mean or min latency, with a unit (ns, us, ms, s) on the value; rps (complete responses per
/// second); responses; errors (requests without a complete response); statusNNN or statusNxx
/// (responses with that status or class); wrong (complete responses of the faulty share whose
/// status their scenario does not accept). A count followed by % (errors%, status5xx%, wrong%) is a
/// share of all requests (responses + errors) in percent. OP: > >= < <=.
struct FailIf {
  enum class Scope { all, healthy, faulty };
  enum class Metric { percentile, max, mean, min, rps, responses, errors, status, wrong };
  enum class Op { greater, greater_equal, less, less_equal };
  std::string text;  ///< as given, without spaces
  Scope scope = Scope::all;
  Metric metric = Metric::percentile;
  double percentile = 0;                ///< for Metric::percentile
  int status_low = 0, status_high = 0;  ///< for Metric::status: the codes counted, inclusive
  bool share = false;                   ///< a count as a percentage of all requests
  Op op = Op::greater;
  double threshold = 0;  ///< in `unit`
  std::string unit;      ///< "ns", "us", "ms" or "s" for latencies, "%" for shares, "" otherwise
};
[[nodiscard]] Result<FailIf> parse_fail_if(std::string_view text);
/// A condition about a class of requests the mix does not have ("faulty.p99>1s" without a faulty
/// scenario) is a Problem: it could never be measured.
[[nodiscard]] Result<void> check_fail_if(const FailIf& condition, const std::vector<MixEntry>& mix);

/// A condition, judged: its value in the condition's unit (none when there was nothing to measure:
/// a latency or a share without any request in its scope, which fails the condition).
struct FailIfOutcome {
  FailIf condition;
  std::optional<double> value;
  bool failed = false;
};
[[nodiscard]] std::vector<FailIfOutcome> evaluate_fail_if(const std::vector<FailIf>& conditions,
                                                          const BenchResult& result);
/// The outcome's value as the reports print it: "7.20ms", "0.90 %", "15000.1", "0", "nothing measured".
[[nodiscard]] std::string fail_if_value(const FailIfOutcome& outcome);

/// A number as typed: 1000000 (never 1e+06), 0.5.
[[nodiscard]] std::string plain_number(double v);

/// What is wrong with the measurement itself: with --rate, an achieved rate below 95 % of it.
[[nodiscard]] std::vector<std::string> bench_warnings(const BenchOptions& options, const BenchResult& result);

/// How the run is judged, for the reports.
struct BenchVerdict {
  std::vector<FailIfOutcome> fail_if;
  std::vector<std::string> warnings;
  [[nodiscard]] bool failed() const;  ///< any --fail-if condition held
};

/// The result as JSON (schema "upfault-bench/1", documented in docs/bench.md).
[[nodiscard]] std::string bench_to_json(const BenchOptions& options, const BenchResult& result,
                                        const BenchTarget& target, const BenchVerdict& verdict = {});
/// The result as upfault bench prints it: the table, status and error counts, connection notes,
/// the --fail-if conditions and the warnings.
[[nodiscard]] std::string bench_to_text(const BenchOptions& options, const BenchResult& result,
                                        const BenchVerdict& verdict = {});

/// Merges the JSON reports (upfault-bench/1, as bench_to_json writes them) of load generators that
/// ran at the same time against the same target with the same mix into one report of the same
/// schema: latency histograms added (so every percentile is the one a single run over all their
/// samples would report), counts summed, requests per second summed, the per-second series summed
/// second by second from each one's start. Reports of another schema, target, mode or mix, without
/// histograms, damaged or over 64 MiB are a Problem that names the report (1-based) and why. A report
/// of a run stopped by a signal ("interrupted") is refused unless `partial`: then the merged report
/// is marked interrupted too and warns which input was.
[[nodiscard]] Result<std::string> merge_bench_reports(const std::vector<std::string>& json_texts, bool partial = false);

}  // namespace upfault
