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

/// The request the runner sends through the proxy.
struct Request {
  std::string method = "GET";
  std::string path = "/";
  std::vector<Header> headers;
  std::string body;
  int repeat = 1;  ///< sent this many times in a row (new client connection each); the last is judged
};

/// One upstream step: what the fake upstream does next on a connection (read, send, wait, close,
/// ...). Each kind is one file in harness/src/steps/, which parses it and runs it; the model sees
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
};

/// A step as written in a scenario: the action, and the requests it applies to.
struct ScriptStep {
  std::shared_ptr<const StepAction> action;
  /// 1-based indexes of the scenario's requests (counted across all its upstream connections)
  /// for which this step runs; empty: every request.
  std::vector<int> on_request;
};

/// One step kind, as documented: its TOML key, a one-line summary, the README paragraph and a
/// TOML example.
struct StepKind {
  std::string_view name;
  std::string_view summary;
  std::string_view doc;
  std::string_view example;
};
/// Every step kind, in the order they are documented (from the registry in harness/src/steps/).
[[nodiscard]] const std::vector<StepKind>& step_kinds();
/// The "Steps" reference of scenarios/README.md, rendered from step_kinds() as Markdown.
[[nodiscard]] std::string steps_markdown();

/// Which upstream address the proxy is made to reach for this scenario.
enum class Endpoint {
  scripted,      ///< the fake upstream, which runs the steps
  refused,       ///< a port where nothing listens: the connect is refused
  blackhole,     ///< a listener whose accept queue is full: the connect never completes
  accept_close,  ///< accepts, then closes (FIN) before reading anything
  accept_reset,  ///< accepts, then resets (RST) before reading anything
};
/// The path prefix that the proxy configurations route to the endpoint ("" for scripted).
[[nodiscard]] std::string_view endpoint_prefix(Endpoint e);

/// The loopback port of each endpoint (0 before binding: the kernel picks).
struct EndpointPorts {
  std::uint16_t scripted = 0;
  std::uint16_t refused = 0;
  std::uint16_t blackhole = 0;
  std::uint16_t accept_close = 0;
  std::uint16_t accept_reset = 0;
};
[[nodiscard]] std::string_view to_string(Endpoint e);

/// A response as the client (or the upstream's script) defines it: status, headers, body.
struct ResponseImage {
  int status = 0;
  std::string reason;
  std::vector<Header> headers;
  std::string body;
};

/// One acceptable (or informative) outcome: every check that is set must hold.
struct Outcome {
  std::vector<int> status;            ///< one of these status codes (empty: any)
  bool passthrough = false;           ///< the upstream's status and body reach the client unchanged
  bool aborted = false;               ///< the client did not get a complete message
  std::optional<DurationExpr> within;      ///< the exchange ended no later than this
  std::optional<DurationExpr> not_before;  ///< the exchange ended no earlier than this
  std::vector<std::string> header_present;  ///< these fields are in the response
  std::vector<std::string> header_absent;   ///< these fields are not
  std::vector<Header> header_equals;        ///< these fields have these values (all lines joined with ", ")
  std::vector<Header> header_matches;       ///< these fields' values match these regexes (RE2 syntax, whole value)
  std::optional<std::string> body;          ///< the body is exactly this
  std::optional<int> upstream_requests;     ///< this many requests reached the upstream
  std::optional<std::vector<int>> interim;  ///< these 1xx responses reached the client, in order
  SourceLocation where;
  [[nodiscard]] std::string describe() const;  ///< "502", "502 or 504", "aborted", "passthrough"
};

/// What the scenario expects of the proxy. `accept` outcomes pass; `stricter` ones are
/// informative: the proxy did more than the RFC requires (e.g. 502 where forwarding is allowed).
struct Expect {
  std::vector<Outcome> accept;
  std::vector<Outcome> stricter;
};

/// One scenario: metadata, the request, the upstream's script, and the expectation.
struct Scenario {
  std::string name;       ///< unique in a suite; also its routing key
  std::string category;   ///< the directory it lives in
  std::string summary;
  std::string rfc;        ///< e.g. "RFC 9112 §6.3"
  std::string rationale;  ///< why the expectation is right, where no RFC section speaks
  Level level = Level::must;
  std::vector<std::string> tags;
  Request request;
  Endpoint endpoint = Endpoint::scripted;
  std::vector<ScriptStep> steps;
  Expect expect;
  /// What the steps send, parsed, when it forms a complete valid response (for passthrough).
  std::optional<ResponseImage> upstream_response;
  SourceLocation where;  ///< the file (line 1)
};

}  // namespace upfault
