#pragma once
/// The scenario model: plain data produced by the loader, executed by the fake upstream and
/// the runner. Nothing here knows about TOML or sockets.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/duration.hpp"

namespace upfault {

using Header = std::pair<std::string, std::string>;

/// Where something was written: a file and a 1-based line and column.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  [[nodiscard]] std::string str() const;  ///< "file:line:col"
};

/// A problem in an input file (a scenario, a profile), with where it is.
struct LoadError {
  SourceLocation where;
  std::string message;
  [[nodiscard]] std::string str() const;  ///< "file:line:col: error: message"
};

/// A LoadError built member by member (GCC 12 at -O3 flags the braced nested aggregate
/// `{{file, 1, 1}, message}` as "may be used uninitialized", a false positive).
[[nodiscard]] LoadError make_load_error(std::string file, int line, int column, std::string message);

/// How strongly the RFC requires the expected behaviour.
enum class Level { must, should, may };
[[nodiscard]] std::string_view to_string(Level level);

/// What a failure of the scenario risks for the proxy's users (its `risk`), most severe first.
enum class Risk {
  /// A broken, incomplete or foreign message passed on as if it were valid, or bytes that can
  /// answer another request (response smuggling, poisoned connections, a request replayed).
  desync,
  /// The client does not get what the upstream validly sent: a valid response replaced by an
  /// error or altered, a 1xx dropped, a header mangled or a hop-by-hop field let through.
  lost_information,
  /// The client is told the exchange failed, but not truly why: a timeout reported as 502, an
  /// invalid response as 503, no answer where a 502 was owed.
  wrong_error,
};
[[nodiscard]] std::string_view to_string(Risk risk);  ///< its TOML spelling: "desync", "lost-information", …
/// Every risk class, most severe first.
inline constexpr Risk kRisks[] = {Risk::desync, Risk::lost_information, Risk::wrong_error};

/// How a scenario's repeated requests use client connections.
enum class ClientConnections {
  separate,    ///< "close": each request on its own connection, sent with Connection: close
  keep_alive,  ///< one persistent connection; each request sent once the previous response is complete
  pipelined,   ///< one persistent connection; every request written at once, responses read in order
};
[[nodiscard]] std::string_view to_string(ClientConnections c);

/// The request the runner sends through the proxy.
struct Request {
  std::string method = "GET";
  std::string path = "/";
  std::vector<Header> headers;
  std::string body;
  int repeat = 1;  ///< sent this many times in a row; the last response is judged, the others recorded
  ClientConnections connections = ClientConnections::separate;
};

/// One upstream step: what the fake upstream does next on a connection (read, send, wait, close,
/// ...). Each kind is one file in harness/src/upstream/steps/, which parses it and runs it; the model sees
/// only what the rest of upfault needs to know about any step.
class StepAction {
 public:
  virtual ~StepAction() = default;
  /// Its TOML key: "read", "send", ...
  [[nodiscard]] virtual std::string_view kind() const = 0;
  /// The step written back as TOML (`delay = "1.5 * read_timeout"`), for logs and tests.
  [[nodiscard]] virtual std::string toml() const = 0;
  /// The bytes it sends to the proxy, when they are fixed (what passthrough compares with).
  [[nodiscard]] virtual const std::string* sends() const { return nullptr; }
  /// True when it reads one whole request, head and body (a fast-path "read, then send" script).
  [[nodiscard]] virtual bool reads_request() const { return false; }
  /// True when the connection is over after it: no later step can run.
  [[nodiscard]] virtual bool ends_connection() const { return false; }
  /// True when it acts on TLS itself (close_notify, a record cut short): the upstream must speak TLS.
  [[nodiscard]] virtual bool needs_tls() const { return false; }
  /// True when it sends HTTP/2 frames: the upstream must speak HTTP/2 (h2c or h2).
  [[nodiscard]] virtual bool needs_h2() const { return false; }
};

/// A step as written in a scenario: the action, and the requests it applies to.
struct ScriptStep {
  std::shared_ptr<const StepAction> action;
  /// 1-based indexes of the scenario's requests (counted across all its upstream connections)
  /// for which this step runs; empty: every request.
  std::vector<int> on_request;
};

/// What the proxy speaks to the upstream for this scenario.
enum class UpstreamProtocol {
  http1,  ///< HTTP/1.1 in plaintext (the scripted port)
  https,  ///< HTTP/1.1 over TLS (the tls port, ALPN http/1.1): /__tls/
  h2c,    ///< HTTP/2 in plaintext with prior knowledge (the scripted port): /__h2c/
  h2,     ///< HTTP/2 over TLS (the tls-h2 port, ALPN h2): /__h2/
};

/// One step kind, as documented: its TOML key, a one-line summary, the README paragraph and a
/// TOML example.
struct StepKind {
  std::string_view name;
  std::string_view summary;
  std::string_view doc;
  std::string_view example;
  UpstreamProtocol example_protocol;  ///< what its example needs in [upstream] (protocol = …)
};
/// Every step kind, in the order they are documented (from the registry in harness/src/upstream/steps/).
[[nodiscard]] const std::vector<StepKind>& step_kinds();
/// The "Steps" reference of scenarios/README.md, rendered from step_kinds() as Markdown.
[[nodiscard]] std::string steps_markdown();

/// Which upstream address the proxy is made to reach for this scenario.
enum class Endpoint {
  scripted,        ///< the fake upstream, which runs the steps
  refused,         ///< a port where nothing listens: the connect is refused
  blackhole,       ///< a listener whose accept queue is full: the connect never completes
  accept_close,    ///< accepts, then closes (FIN) before reading anything
  accept_reset,    ///< accepts, then resets (RST) before reading anything
  tls_stall,       ///< TLS: reads the ClientHello and never answers
  tls_garbage,     ///< TLS: answers the ClientHello with bytes that are not TLS, then closes
  tls_alert,       ///< TLS: answers the ClientHello with a fatal handshake_failure alert, then closes
  tls_expired,     ///< TLS: a certificate from upfault's CA that expired; then runs the steps
  tls_wrong_name,  ///< TLS: a certificate from upfault's CA for another name; then runs the steps
  tls_untrusted,   ///< TLS: a self-signed certificate, not from upfault's CA; then runs the steps
};
/// The path prefix that the proxy configurations route to the endpoint ("" for scripted).
[[nodiscard]] std::string_view endpoint_prefix(Endpoint e);
/// The endpoint runs the scenario's steps (scripted, and the certificate endpoints after the handshake).
[[nodiscard]] bool runs_steps(Endpoint e);
/// The endpoint speaks TLS.
[[nodiscard]] bool is_tls(Endpoint e);

[[nodiscard]] std::string_view to_string(UpstreamProtocol p);  ///< "http/1.1", "https", "h2c", "h2"
[[nodiscard]] std::optional<UpstreamProtocol> parse_protocol(std::string_view text);
/// The path prefix that routes a scripted scenario of this protocol ("" for http/1.1).
[[nodiscard]] std::string_view protocol_prefix(UpstreamProtocol p);

/// True for the HTTP/2 protocols (h2c, h2).
[[nodiscard]] inline bool is_http2(UpstreamProtocol p) {
  return p == UpstreamProtocol::h2c || p == UpstreamProtocol::h2;
}

/// The loopback port of each endpoint (0 before binding: the kernel picks).
struct EndpointPorts {
  std::uint16_t scripted = 0;  ///< http/1.1 and h2c
  std::uint16_t refused = 0;
  std::uint16_t blackhole = 0;
  std::uint16_t accept_close = 0;
  std::uint16_t accept_reset = 0;
  std::uint16_t tls = 0;     ///< TLS with a valid certificate, ALPN http/1.1: /__tls/
  std::uint16_t tls_h2 = 0;  ///< TLS with a valid certificate, ALPN h2: /__h2/
  std::uint16_t tls_stall = 0;
  std::uint16_t tls_garbage = 0;
  std::uint16_t tls_alert = 0;
  std::uint16_t tls_expired = 0;
  std::uint16_t tls_wrong_name = 0;
  std::uint16_t tls_untrusted = 0;
};
/// Every port but the scripted one, in the order their defaults follow --upstream-port P (P+1, …).
struct PortField {
  std::string_view name;  ///< "accept-close": the option is --accept-close-port, the placeholder {accept_close_port}
  std::uint16_t EndpointPorts::*port;
  std::string_view prefix;  ///< the path prefix routed to it, e.g. "/__accept_close"
  std::string_view what;    ///< for --help
};
[[nodiscard]] const std::vector<PortField>& endpoint_port_fields();
/// The field named `name` ("tls-expired"), or null ("" is the scripted port, which has none).
[[nodiscard]] const PortField* port_field(std::string_view name);
[[nodiscard]] std::string_view to_string(Endpoint e);
/// The path prefix the scenario's request carries before its route: the endpoint's or the protocol's.
[[nodiscard]] std::string_view upstream_prefix(Endpoint e, UpstreamProtocol p);
/// The PortField name of the port the scenario's request must reach ("" for the scripted port).
[[nodiscard]] std::string_view port_name(Endpoint e, UpstreamProtocol p);

/// A response as the client (or the upstream's script) defines it: status, headers, body.
struct ResponseImage {
  int status = 0;
  std::string reason;
  std::vector<Header> headers;
  std::string body;
};

struct Observation;  // observed.hpp: what the client and the upstream saw
struct Scenario;
struct Outcome;

/// Why an observation does not satisfy a check.
struct Miss {
  std::string text;
  /// False when the verdict's "got …" already says it (a status, "no complete response"), so the
  /// reason does not repeat it.
  bool detail = true;
};

/// One check of an outcome (`status`, `passthrough`, `headers`, ...). Each kind is one file in
/// harness/src/judge/checks/ that parses it, says what it expects and judges an observation.
class Check {
 public:
  virtual ~Check() = default;
  /// Its TOML key.
  [[nodiscard]] virtual std::string_view key() const = 0;
  /// What it expects, in words: "502 or 504", "header X-A: 1".
  [[nodiscard]] virtual std::string describe() const = 0;
  /// The check written back as one line of [expect] (`status = [502, 504]`), for logs and tests.
  [[nodiscard]] virtual std::string toml() const = 0;
  /// Why `seen` does not satisfy it; nullopt when it does. Called only with a complete response
  /// when needs_response() (the judge reports the lack of one itself).
  [[nodiscard]] virtual std::optional<Miss> mismatch(const Observation& seen) const = 0;
  /// It looks at the complete response (status, headers, body, interim responses).
  [[nodiscard]] virtual bool needs_response() const { return true; }
  /// It is about how the exchange ended without a complete response (`aborted`).
  [[nodiscard]] virtual bool about_ending() const { return false; }
  /// It bounds the time of the exchange: the verdict notes the time against the read timeout.
  [[nodiscard]] virtual bool timed() const { return false; }
  /// The latest end of the exchange it accepts (`within`), for the client's deadline.
  [[nodiscard]] virtual std::optional<DurationExpr> latest() const { return std::nullopt; }
  /// The status codes it accepts (`status`); null for other checks.
  [[nodiscard]] virtual const std::vector<int>* statuses() const { return nullptr; }
  /// It counts the requests that reached the upstream (`upstream_requests`): then the outcome may
  /// hold without the upstream having been asked.
  [[nodiscard]] virtual bool counts_upstream_requests() const { return false; }
  /// It judges the bytes the proxy sent after the complete response (`after_response`): the client
  /// then reads on until the proxy closes.
  [[nodiscard]] virtual bool reads_past_response() const { return false; }
  /// It requires the upstream's response to reach the client unchanged (`passthrough`).
  [[nodiscard]] virtual bool passthrough() const { return false; }
  /// A problem with this check in this scenario (e.g. passthrough of steps that send no valid
  /// response), found once the whole scenario is loaded; nullopt when there is none.
  [[nodiscard]] virtual std::optional<std::string> validate(const Scenario&, const Outcome&) const {
    return std::nullopt;
  }
};

/// One acceptable (or informative) outcome: every check must hold.
struct Outcome {
  std::vector<std::shared_ptr<const Check>> checks;  ///< in the registry's order
  SourceLocation where;
  [[nodiscard]] std::string describe() const;                ///< "502", "502 or 504", "aborted", "passthrough"
  [[nodiscard]] bool passthrough() const;                    ///< one of its checks is passthrough
  [[nodiscard]] const std::vector<int>* statuses() const;    ///< its status check's codes, or null
  [[nodiscard]] std::optional<DurationExpr> latest() const;  ///< its `within`, if any
};

/// One check kind, as documented: its TOML key, an example, and when it holds (Markdown); and an
/// example to use (one `key = value` line of [expect], as the check's toml() writes it).
struct CheckKind {
  std::string_view key;
  std::string_view example;
  std::string_view holds;
  std::string_view toml_example;
};
/// Every check kind, in the order they are documented and judged (harness/src/judge/checks/).
[[nodiscard]] const std::vector<CheckKind>& check_kinds();
/// The expectations table of scenarios/README.md, rendered from check_kinds().
[[nodiscard]] std::string checks_markdown();

/// What the scenario expects of the proxy. `accept` outcomes pass; `stricter` ones are
/// informative: the proxy did more than the RFC requires (e.g. 502 where forwarding is allowed).
struct Expect {
  std::vector<Outcome> accept;
  std::vector<Outcome> stricter;
};

/// One scenario: metadata, the request, the upstream's script, and the expectation.
struct Scenario {
  std::string name;      ///< unique in a suite; also its routing key
  std::string category;  ///< the directory it lives in
  std::string summary;
  std::string rfc;        ///< e.g. "RFC 9112 §6.3"
  std::string rationale;  ///< why the expectation is right, where no RFC section speaks
  Level level = Level::must;
  std::optional<Risk> risk;  ///< what its failure risks for users (the conformance matrix ranks by it)
  std::vector<std::string> tags;
  Request request;
  Endpoint endpoint = Endpoint::scripted;
  UpstreamProtocol protocol = UpstreamProtocol::http1;  ///< https for the TLS endpoints
  std::vector<ScriptStep> steps;
  Expect expect;
  /// What the steps send, parsed, when it forms a complete valid response (for passthrough).
  std::optional<ResponseImage> upstream_response;
  SourceLocation where;  ///< the file (line 1)
  /// A check of some outcome judges bytes after the response (the client reads to the close).
  [[nodiscard]] bool reads_past_response() const;
};

}  // namespace upfault
