#pragma once
/// Proxy profiles and the proxy under test as a child process.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "upfault/duration.hpp"
#include "upfault/problem.hpp"
#include "upfault/routes.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// proxies/<name>/profile.toml: how to start one proxy on loopback and what it is configured with.
struct ProxyProfile {
  std::string name;
  std::string description;
  std::filesystem::path dir;         ///< the profile's directory
  std::vector<std::string> command;  ///< argv, with {placeholders}
  /// Templates rendered into the work dir, at the same relative path without ".in".
  std::vector<std::filesystem::path> config_templates;
  std::vector<std::string> version_command;  ///< argv whose output holds the version
  std::string version_regex;                 ///< first capture group is the version
  std::vector<std::string> packages;         ///< Debian packages that provide it
  std::string error_log;                     ///< path with placeholders, shown when it fails
  Millis ready_timeout{10000};
  /// The proxy drops privileges and then writes in its work dir (Squid): make the dir writable for all.
  bool shared_workdir = false;
  ProxyTimeouts timeouts;
  /// routes.toml: the endpoint routes its templates include as {routes_<part>}.
  std::vector<RoutePart> routes;
  /// What its config makes it speak to the upstream (upstream_protocols); scenarios needing
  /// another are not run.
  std::vector<UpstreamProtocol> upstream_protocols{UpstreamProtocol::http1};
  /// For a protocol it lacks: why (not_tested), for reports and the matrix page.
  std::map<UpstreamProtocol, std::string> not_tested;
};

/// Loads a profile from a profile.toml, or by name from `search_dirs` (<dir>/<name>/profile.toml).
/// A problem's message is "file:line:col: error: …", as a scenario file's errors are.
[[nodiscard]] Result<ProxyProfile> find_profile(const std::string& name_or_path,
                                                const std::vector<std::filesystem::path>& search_dirs);
/// Directories searched for profiles: $UPFAULT_PROXIES_DIR, then the build's source tree, then the install prefix.
[[nodiscard]] std::vector<std::filesystem::path> default_profile_dirs();
/// Names of every profile found in `dirs`.
[[nodiscard]] std::vector<std::string> list_profiles(const std::vector<std::filesystem::path>& dirs);

/// Replaces {name} with vars[name]; an unknown {lower_case_name} is an error, other braces stay.
[[nodiscard]] Result<std::string> render_template(const std::string& text,
                                                  const std::map<std::string, std::string>& vars);

/// A picked free loopback port (bound to port 0, then released).
[[nodiscard]] std::uint16_t pick_free_port(const std::string& host = "127.0.0.1");

/// True when a TCP connect to host:port succeeds within `bound`: whether a proxy upfault started is
/// ready, and after a run through --proxy-url whether the user's proxy still accepts connections.
[[nodiscard]] bool accepts_connections(const std::string& host, std::uint16_t port, Millis bound = Millis{2000});

/// A proxy under test running as a child in its own process group, with its own temp dir.
class ProxyProcess {
 public:
  using Ports = EndpointPorts;
  ProxyProcess() = default;
  ~ProxyProcess();  ///< stops the whole process group and removes the work dir
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  /// Renders the config, starts the proxy and waits (bounded by ready_timeout) until its
  /// listen port accepts; otherwise says why not (exit status, log tail).
  [[nodiscard]] Result<void> start(const ProxyProfile& profile, const Ports& ports);
  /// SIGTERM to the group, then SIGKILL after `grace`; reaps the leader. Idempotent.
  void stop(Millis grace = Millis{3000});
  /// True while the leader has not exited. Reaps it when it has.
  [[nodiscard]] bool alive();
  /// For a proxy that just closed or reset a client connection: true when that close was its
  /// death. The kernel marks a process exiting before it closes its sockets, so the mark is
  /// read, not guessed from a time window; an exiting proxy's exit is then waited for (up to
  /// 5 s). Reaps the leader when it exited.
  [[nodiscard]] bool dying();
  /// How the leader ended ("exited with status 1", "killed by signal 11"), once it has.
  [[nodiscard]] std::string exit_description() const { return exit_; }
  /// When the leader exited 0 on its own and left the proxy running in the background (a config
  /// without nginx's `daemon off;`, HAProxy's `daemon`): what to change in the config; else "".
  /// What it left running (below upfault in the process tree, listening on port() or named by a
  /// pid file in the work dir) has been stopped by then.
  [[nodiscard]] const std::string& background() const { return background_; }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] const std::filesystem::path& workdir() const { return workdir_; }
  /// The last `lines` lines of the proxy's error log and its captured stderr.
  [[nodiscard]] std::string log_tail(std::size_t lines = 10) const;
  /// How the proxy called `name` ended `when` ("during the run"), for a person: the config fix
  /// first when it went to the background, then how its leader exited, then log_tail().
  [[nodiscard]] std::string ended(std::string_view name, std::string_view when) const;

 private:
  [[nodiscard]] std::map<std::string, std::string> template_vars(const ProxyProfile& profile, const Ports& ports) const;
  enum class Readiness { ready, port_taken };
  [[nodiscard]] Result<Readiness> wait_ready(const ProxyProfile& profile);
  /// Whether the sockets listening on the proxy's port are held by the proxy's own processes.
  [[nodiscard]] bool listens_itself() const;
  void reap_group();
  void stop_background();
  int pid_ = -1;
  bool stopping_ = false;  // stop() sent the signal: the leader's exit is not its own
  int watched_ = -1;       // the group id the lifeline knows this proxy by
  std::uint16_t port_ = 0;
  std::filesystem::path workdir_;
  std::filesystem::path error_log_;
  std::string exit_;
  std::string background_;
};

/// A fresh directory `prefix`XXXXXX in the temporary directory ($TMPDIR, else /tmp), or why there
/// is none to be had (naming TMPDIR).
[[nodiscard]] Result<std::filesystem::path> make_temp_dir(const std::string& prefix);

/// The proxy's version, from its version command ("" when unknown).
[[nodiscard]] std::string proxy_version(const ProxyProfile& profile);

/// The directory holding upfault's executables (for the {bindir} placeholder).
[[nodiscard]] std::filesystem::path tool_dir();

}  // namespace upfault
