#pragma once
/// The fake upstream: a loopback HTTP server that runs each scenario's steps on the
/// connections routed to it. One instance serves every scenario of a run, concurrently.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/observed.hpp"
#include "upfault/problem.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// The routing key of a request target: the path segment after "/__upfault/".
[[nodiscard]] std::string route_key(std::string_view target);
/// The path prefix that routes a request to `scenario` ("/__upfault/NAME").
[[nodiscard]] std::string route_prefix(std::string_view scenario);

class FakeUpstream {
 public:
  struct Options {
    std::string host = "127.0.0.1";            ///< loopback unless the user says otherwise
    EndpointPorts ports;                       ///< each 0: the kernel picks
    ProxyTimeouts timeouts;                    ///< to resolve durations such as "2 * read_timeout"
    std::chrono::seconds connection_cap{120};  ///< no connection is held longer than this
    /// Connections open at once, over all ports. At the cap the listeners stop accepting: new
    /// connections wait in the kernel's accept queue until one ends.
    std::size_t max_connections = 4096;
    /// TLS handshakes in progress at once (they cost the most); at the cap the TLS ports stop accepting.
    std::size_t max_handshakes = 1024;
    /// A TLS handshake not done this long after the accept is given up: the connection is closed.
    std::chrono::milliseconds handshake_timeout{5'000};
    bool verbose = false;  ///< log each connection to stderr
    /// Record what each connection received and did, for verdicts (the first 10,000 requests of
    /// each scenario). Off for load (serve --quiet, bench): then nothing is allocated per request.
    bool keep_logs = true;
    /// Threads serving connections, each with its own io_context (accepting stays on the first).
    unsigned threads = 1;
    /// Pre-flight (preflight.hpp): from start() until end_preflight(), every endpoint, the fault
    /// ones too, serves the scenarios routed to it, and every TLS port presents the valid
    /// certificate: so a probe through each of the proxy's routes is answered by the port it reached.
    bool preflight = false;
    /// The valid-certificate TLS ports (tls, tls-h2) resume sessions as a production origin does
    /// (TLS 1.3 tickets; TLS 1.2 tickets and a session cache): for load (`upfault serve`,
    /// `upfault bench`), so a proxy that opens a connection per request is not measured by full
    /// handshakes. Off for runs: every connection a full handshake, as the verdicts were measured
    /// (Squid 5.7 with GnuTLS answers 502 to a healthy response after a TLS 1.3 ticket). The
    /// certificate ports never resume.
    bool tls_resumption = false;
    /// HTTP/2 connections whose first request is for a scenario that only answers with a valid
    /// h2_response (h2-ok-200-baseline, the passthrough ones) multiplex, as a production origin
    /// does: every stream of such a scenario on the connection is served at once, flow control and
    /// SETTINGS honoured, no GOAWAY after a stream; a stream for any other scenario is refused
    /// (RST_STREAM REFUSED_STREAM: safe to retry elsewhere). For load (`upfault serve`, `upfault
    /// bench`), so a pooling proxy is not measured by a connection per request. Off for runs: every
    /// HTTP/2 connection serves one stream, the verdicts' determinism. The fault scenarios always do.
    bool h2_multiplex = false;
  };

  /// Binds every endpoint's port, or says which one cannot be bound and why
  /// ("127.0.0.1:8080 (--upstream-port): Address already in use").
  [[nodiscard]] static Result<std::unique_ptr<FakeUpstream>> open(Options options);
  /// open() for tests and fixtures, where a port that cannot be bound ends the test: throws
  /// std::runtime_error with open()'s message.
  explicit FakeUpstream(Options options);
  ~FakeUpstream();  ///< stops and joins
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  /// Registers a scenario; requests whose target holds route_prefix(name) run its steps.
  void add(const Scenario& scenario);
  /// Starts serving on a background thread. Ports are bound by open() (or the constructor).
  void start();
  /// Serves on the calling thread until stop() (for `upfault serve`).
  void run();
  void stop();
  /// Ends pre-flight (Options::preflight): the refused port refuses again, the blackhole's accept
  /// queue is filled, every endpoint does its fault. Or why the refused port could not stop listening.
  [[nodiscard]] Result<void> end_preflight();

  [[nodiscard]] std::uint16_t port() const;          ///< the scripted endpoint
  [[nodiscard]] std::uint16_t refused_port() const;  ///< bound, never listening: connects are refused
  /// Every endpoint's port: scripted; refused (bound, never listening); blackhole (accept queue
  /// kept full, so connects never complete); accept_close and accept_reset (act before reading).
  [[nodiscard]] EndpointPorts ports() const;
  [[nodiscard]] const std::string& host() const;
  /// A snapshot of what the upstream saw for `scenario` so far.
  [[nodiscard]] UpstreamLog log(std::string_view scenario) const;
  /// Connections whose request named no known scenario.
  [[nodiscard]] int unrouted() const;
  /// Why the proxy refused upfault's valid certificate (ports tls, tls-h2), a setup mistake: it
  /// does not trust upfault's CA or checks another name. Either its alert (e.g. "tlsv1 alert
  /// unknown ca"), or, while no request has ever arrived over TLS on those ports, a connection it
  /// closed right after the handshake without a request (nginx checks the certificate after the
  /// handshake, and closes). Empty when it never did. Over TLS 1.3 both arrive after our side of
  /// the handshake is done, so the runner waits for them (bounded) before judging.
  [[nodiscard]] std::string tls_refusal() const;
  /// Calls `notify`, on the upstream's thread, each time it notes something tls_refusal() may now
  /// tell, until the returned handle is released: for waiting on the event instead of polling.
  /// `notify` must be quick and must not call back into the upstream (it runs under its lock).
  [[nodiscard]] std::shared_ptr<void> on_tls_note(std::function<void()> notify) const;
  /// A TLS handshake that reached a plaintext port (the proxy sends /__tls/ or /__h2/ to the
  /// plaintext upstream): what happened, with the route to fix; empty when none did.
  [[nodiscard]] std::string tls_misrouted() const;
  /// Plain bytes (an HTTP request, not a ClientHello) that reached the TLS port `port` (a
  /// PortField name: "tls", "tls-expired", …): what happened, with the route to fix; empty when
  /// none did. Noted when they arrive, before the port answers, so before the proxy's response.
  [[nodiscard]] std::string plain_on_tls(std::string_view port) const;
  /// Waits (at most `timeout`) until `n` accepts on the scripted endpoint have failed (EMFILE at the file-descriptor
  /// limit, say; each is retried 100 ms later) and returns when each of the first `n` failed:
  /// fewer than `n` when the time ran out.
  [[nodiscard]] std::vector<std::chrono::steady_clock::time_point> wait_for_accept_failures(
      std::size_t n, std::chrono::milliseconds timeout) const;

  struct Impl;  ///< opaque: keeps Asio out of this header

 private:
  explicit FakeUpstream(std::unique_ptr<Impl> bound);
  std::unique_ptr<Impl> impl_;
};

}  // namespace upfault
