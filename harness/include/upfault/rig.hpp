#pragma once
/// The rig: upfault's fake upstream and the proxy under test, started together and stopped in
/// reverse order (Envoy's BaseIntegrationTest fixture, VTest's -vcl+backend). run, matrix,
/// bench, serve and the GoogleTest layer all stand on it, so where the proxy is, how long a
/// client waits by default, and what counts as loopback are decided here once.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "upfault/observed.hpp"
#include "upfault/preflight.hpp"
#include "upfault/problem.hpp"
#include "upfault/proxy.hpp"
#include "upfault/scenario.hpp"
#include "upfault/upstream.hpp"

namespace upfault {

/// An address given on the command line: "http://127.0.0.1:8080/path", "127.0.0.1:8080",
/// "[::1]:8080", "localhost:8080".
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/";  ///< what follows the authority ("/" when none)
};
/// "HOST:PORT" as a URL writes it: an IPv6 address in brackets ("[::1]:8080").
[[nodiscard]] std::string authority(std::string_view host, unsigned port);
/// Parses an address; `allow_any_port` accepts port 0 (for a listen address: the kernel picks).
[[nodiscard]] Result<HostPort> parse_host_port(std::string text, bool allow_any_port = false);
/// True for an IP address in 127.0.0.0/8 or ::1 (parsed as an address, not compared as text),
/// and for "localhost".
[[nodiscard]] bool is_loopback(const std::string& host);
/// parse_host_port, then the loopback check: outside loopback is an error unless `allow_remote`
/// (a proxy to reach, a load target, a listen address).
[[nodiscard]] Result<HostPort> parse_loopback_address(const std::string& text, bool allow_remote,
                                                      bool allow_any_port = false);

/// The client's deadline where a scenario sets no `within`: 4 × read_timeout + 2 s.
[[nodiscard]] Millis default_deadline(const ProxyTimeouts& timeouts);

/// What to start.
struct RigOptions {
  std::optional<ProxyProfile> profile;   ///< upfault starts this proxy; its timeouts are the run's
  std::optional<HostPort> proxy;         ///< or: a proxy the user started, reached here
  std::string proxy_name = "proxy-url";  ///< what the reports call that one
  FakeUpstream::Options upstream;        ///< ports, timeouts, threads, logs of the fake upstream
  /// With an address: the upstream protocols the user's routes declare (--upstream-protocols),
  /// or none to detect them in pre-flight. A profile declares its own.
  std::vector<UpstreamProtocol> protocols;
  /// Pre-flight (preflight.hpp) before the first scenario. Off where the same config's routes were
  /// just checked (a scenario rerun alone on a fresh instance of a profile's proxy).
  bool check_routes = true;
};

class Rig {
 public:
  /// Starts the fake upstream serving `scenarios`, then the proxy (from the profile) against it,
  /// then checks every route the scenarios need through it (preflight.hpp). A proxy upfault
  /// started is then started again, so the suite meets an instance that remembers nothing of the
  /// probes. Without a profile or an address, the upstream stands alone (upfault serve). On
  /// failure says why, naming every route to fix; nothing stays running.
  [[nodiscard]] static Result<std::unique_ptr<Rig>> start(const std::vector<Scenario>& scenarios, RigOptions options);
  ~Rig();  ///< stop()
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  /// The proxy first (its whole process group), then the upstream. Idempotent.
  void stop();
  /// After the started proxy died: starts it again (new port), or says why it cannot.
  [[nodiscard]] Result<void> restart_proxy();

  [[nodiscard]] FakeUpstream& upstream() { return *upstream_; }
  /// The proxy upfault started (null for a proxy reached at an address, or none).
  [[nodiscard]] ProxyProcess* process() { return process_.get(); }
  [[nodiscard]] const std::string& proxy_host() const { return host_; }
  [[nodiscard]] std::uint16_t proxy_port() const;
  [[nodiscard]] const ProxyTimeouts& timeouts() const { return timeouts_; }
  /// Who is tested: the profile's name and version, or RigOptions::proxy_name; and where.
  [[nodiscard]] ProxyInfo info() const;
  /// What pre-flight found: the protocols the routes reach (detected when none were declared).
  [[nodiscard]] const PreflightReport& preflight() const { return preflight_; }

 private:
  [[nodiscard]] Result<void> check_routes(const std::vector<Scenario>& scenarios);
  Rig() = default;
  RigOptions options_;
  ProxyTimeouts timeouts_;
  std::unique_ptr<FakeUpstream> upstream_;
  std::unique_ptr<ProxyProcess> process_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  std::string version_;
  PreflightReport preflight_;
};

}  // namespace upfault
