#pragma once
/// What happened, as plain data — what scenario.hpp is for what should happen: what the client
/// saw, what each upstream connection saw, the verdict, and a scenario's result. The judge and
/// the reporters depend on this and on scenario.hpp only, never on sockets, the server or the runner.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault {

/// How the client's exchange with the proxy ended.
enum class Ending {
  complete,        ///< a complete response was received
  closed_early,    ///< the proxy closed (FIN) before a complete response
  reset,           ///< the proxy reset the connection (ECONNRESET)
  timed_out,       ///< nothing ended the exchange before the client's deadline
  invalid,         ///< the proxy sent bytes that are not a valid HTTP response
  connect_failed,  ///< the proxy could not be reached (a harness or setup problem)
};
[[nodiscard]] std::string_view to_string(Ending e);

/// The keep-alive probe: a known-good scenario every rig's upstream serves (200 with this body).
/// Sent on a client connection the proxy kept open after a scenario's response, it must get
/// exactly this answer; anything else there is a desync the scenario's response left behind.
inline constexpr std::string_view kKeepAliveProbe = "upfault-keepalive-probe";
inline constexpr std::string_view kKeepAliveProbeBody =
    "upfault keep-alive probe: the next request on the connection\n";

/// What the client saw.
struct ClientResult {
  Ending ending = Ending::timed_out;
  std::string error;  ///< detail for connect_failed / invalid / reset
  std::string raw;    ///< bytes received (first 64 KiB)
  std::size_t raw_total = 0;
  bool header_complete = false;
  std::optional<ResponseImage> response;  ///< set when the header was complete; its body: the first 64 KiB read
  std::uint64_t body_size = 0;            ///< every body byte received (of the final response)
  std::string body_digest;                ///< SHA-1 (hex) of those bytes: compares a body beyond the 64 KiB kept
  std::vector<int> interim;               ///< 1xx statuses seen before the final response
  Millis elapsed{0};                      ///< request sent → exchange ended
  std::optional<Millis> first_byte;       ///< request sent → first response byte
  /// Bytes the proxy sent after the complete response (first 64 KiB): on a persistent connection,
  /// what arrived before the next request was sent; after the last response, what came before the
  /// proxy closed (read to the close only when a check asks, else what came with the response).
  std::string after;
  std::size_t after_total = 0;
  bool closed_after = false;  ///< the proxy closed (or reset) the connection after the response: `after` is whole
  int request = 1;            ///< which of the scenario's requests (1-based) this response answers
  int requests = 1;           ///< how many the scenario sends (Request::repeat)
  /// The responses to the requests before this one, in order (their own `earlier` empty).
  std::vector<ClientResult> earlier;
  int connections = 1;  ///< client connections the exchange used
  /// The keep-alive probe (at most one): when the proxy kept the connection open after the last
  /// response, what answered the next request on it (upfault's known-good probe scenario).
  std::vector<ClientResult> probe;
};

/// How an upstream connection ended, as the fake upstream saw it.
enum class ConnectionEnd {
  open,            ///< still open when the log was read
  fin,             ///< the script closed it with FIN
  rst,             ///< the script reset it
  peer_closed,     ///< the proxy closed it
  peer_reset,      ///< the proxy reset it
  timed_out,       ///< a step's wait ran out
  capped,          ///< held longer than the connection cap
  reused,          ///< the proxy sent another scenario's request on it (see that scenario's log)
  after_close,     ///< the request arrived on a connection the upstream had already closed: never answered
  misrouted,       ///< an endpoint scenario's request (refused, blackhole, ...) reached the scripted upstream
  error,           ///< a socket error (see `ended`)
  protocol_error,  ///< the proxy broke the protocol (HTTP/2), and the upstream refused its request (see `ended`)
  /// HTTP/2: the request came on a new stream of a connection already serving another one; the
  /// upstream refused it (RST_STREAM REFUSED_STREAM, safe to retry) without processing it. Counts no request.
  refused_stream,
};
[[nodiscard]] std::string_view to_string(ConnectionEnd e);

/// What one upstream connection saw.
/// One request's stretch of an upstream connection (a kept-alive connection that carries several
/// requests has an entry for each, with the same `connection`).
struct ConnectionLog {
  std::chrono::steady_clock::time_point accepted;
  std::uint64_t connection = 0;  ///< which upstream connection: an id unique in the process
  std::string received;          ///< bytes read from the proxy (first 64 KiB)
  std::size_t received_total = 0;
  std::size_t sent_total = 0;
  int requests = 0;     ///< request heads read on this connection for this scenario
  bool reused = false;  ///< the connection served another scenario's request before this one
  std::string port;     ///< the PortField name of the port it came in on ("" for the scripted port)
  bool tls = false;     ///< it came over TLS
  bool http2 = false;   ///< it came over HTTP/2
  ConnectionEnd end = ConnectionEnd::open;
  std::string ended;  ///< how it ended, in words ("fin", "half-closed, then peer closed", …)
};

/// Everything the upstream saw for one scenario.
struct UpstreamLog {
  std::vector<ConnectionLog> connections;
  [[nodiscard]] int requests() const;
  /// Distinct upstream connections (entries sharing a connection id count once).
  [[nodiscard]] int connection_count() const;
};

/// Everything a check judges: the scenario, what the client saw, what the upstream saw, and the
/// proxy's timeouts (to resolve durations such as "2 * read_timeout").
struct Observation {
  const Scenario& scenario;
  const ClientResult& client;
  const UpstreamLog& upstream;
  const ProxyTimeouts& timeouts;
};

/// Result classes, as cache-tests.fyi has them.
enum class VerdictKind {
  pass,      ///< an accepted outcome
  stricter,  ///< an informative outcome: stricter than the RFC requires, not a failure
  fail,      ///< the proxy did something the scenario does not accept
  error,     ///< the harness or setup failed; says nothing about the proxy
  not_run,   ///< not sent: the scenario needs an upstream protocol the proxy's profile does not declare
};
[[nodiscard]] std::string_view to_string(VerdictKind k);

struct Verdict {
  VerdictKind kind = VerdictKind::error;
  std::string reason;  ///< a sentence a person can act on
};

/// One distinct outcome of a scenario over repeated runs (`--repeat`): its verdict, the reason
/// the first run that gave it gave (runs whose reasons differ only in durations share an
/// outcome), and how many runs gave it.
struct RunOutcome {
  VerdictKind verdict = VerdictKind::error;
  std::string reason;
  unsigned count = 0;
};

/// The verdict changed from run to run: `runs` holds two verdicts or more.
[[nodiscard]] bool verdict_varied(const std::vector<RunOutcome>& runs);
/// "pass 3/5, fail 2/5": each verdict with its share of the runs, most frequent first (the worst
/// first among equals).
[[nodiscard]] std::string distribution_text(const std::vector<RunOutcome>& runs);

/// Who was tested: shown in reports.
struct ProxyInfo {
  std::string name;
  std::string version;
  std::string url;
};

/// What the runner learnt about the setup beside one exchange: facts about upfault's routes and
/// certificates, not about how the proxy handles the fault. Empty when there was nothing to learn.
struct SetupNotes {
  std::string tls_on_plain;  ///< a TLS handshake reached a plaintext port: what happened and the route to fix
  /// Plain HTTP reached the TLS port this scenario needs (its route is not over TLS): what
  /// happened and the route to fix. Whatever the client saw, the scenario's TLS fault never ran.
  std::string plain_on_tls;
  std::string tls_refusal;  ///< the proxy refused upfault's valid certificate: its alert, or how it closed
};

/// The outcome of one scenario: the evidence (what the client and the upstream saw, the setup,
/// how the proxy process fared) and the verdict evaluate() gave it. It shares its scenario, so it
/// stays valid on its own.
struct ScenarioResult {
  std::shared_ptr<const Scenario> scenario;
  Verdict verdict;
  ClientResult client;
  UpstreamLog upstream;
  SetupNotes setup;
  std::string proxy_crash;  ///< set when the proxy died while handling this scenario ("killed by signal 6")
  /// Set when the proxy died during a run that could not pin the death on a scenario (several in
  /// flight, no restart): "nginx killed by signal 11".
  std::string proxy_died;
  /// What the proxy's profile says of this cell (its quirks.toml): a documented deviation. Shown
  /// beside the verdict; never changes it.
  std::string note;
  /// With `--repeat`, when the scenario's outcome varied: every distinct outcome of its runs, most
  /// frequent first (RepeatedRuns); empty after one run, or when every run gave the same outcome.
  /// The verdict and the evidence above are then those of the first run with the worst verdict.
  std::vector<RunOutcome> runs;
  /// The verdict changed from run to run (verdict_varied(runs)).
  [[nodiscard]] bool unstable() const { return verdict_varied(runs); }
};

}  // namespace upfault
