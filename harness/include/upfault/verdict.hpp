#pragma once
/// Judging what the client and the upstream saw against a scenario's expectation.
#include <string>
#include <string_view>

#include "upfault/observed.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// How a run judges: the proxy's timeouts (they resolve relative durations in timing bounds) and
/// whether a stricter-than-required outcome counts as a failure (--strict).
struct JudgeOptions {
  ProxyTimeouts timeouts;
  bool strict = false;
};

/// The one place a verdict is decided: from all the evidence of one scenario — what the client
/// and the upstream saw, the setup notes, whether the proxy crashed while handling it or died
/// while it was in flight — and the run's options. `evidence.verdict` is not read.
/// In order: a proxy that could not be reached or a setup mistake is an `error`; a crash while
/// handling this scenario alone is a `fail`; a death during a parallel run makes an exchange with
/// no complete response an `error` (the death may explain it); then the expectation.
[[nodiscard]] Verdict evaluate(const Scenario& scenario, const ScenarioResult& evidence, const JudgeOptions& options);

/// The exchange alone (no setup notes, no crash, not strict): evaluate() with just that evidence.
[[nodiscard]] Verdict evaluate(const Scenario& scenario, const ClientResult& client, const UpstreamLog& upstream,
                               const ProxyTimeouts& timeouts);

/// True when the scenario was never tested: the upstream refused its request (an HTTP/2 stream on
/// a connection serving another scenario) and never served it. evaluate() makes it an error; the
/// runner reruns such a scenario alone.
[[nodiscard]] bool refused_untested(const UpstreamLog& upstream);

/// True when a request of the scenario (HTTP/2: a new stream, such as a retry) came on an upstream
/// connection serving another scenario and was refused unprocessed (RST_STREAM REFUSED_STREAM):
/// where the scenario was served once, evaluate() makes a failure after that an error, and the
/// runner reruns it alone.
[[nodiscard]] bool refused_elsewhere(const UpstreamLog& upstream);

/// True when a failed TLS scenario may have failed for a setup reason the upstream notes (a
/// ClientHello on a plaintext port, a refused valid certificate): the runner then gathers those
/// notes (waiting for them, bounded) and evaluates again.
[[nodiscard]] bool tls_setup_may_explain(const Scenario& scenario, const ScenarioResult& evidence);

/// What the client got, in a few words: `200 after 3 ms (body 5 bytes: "hello")`.
[[nodiscard]] std::string describe(const ClientResult& client);

}  // namespace upfault
