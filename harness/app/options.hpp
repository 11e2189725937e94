#pragma once
// Option parsing shared by subcommands.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>

#include "upfault/duration.hpp"
#include "upfault/problem.hpp"
#include "upfault/rig.hpp"
#include "upfault/scenario.hpp"

namespace upfault::cli {

/// A report file opened before the run, so that a path that cannot be written fails at once
/// (exit 2) instead of after the whole run; written, flushed and closed with every step checked.
/// A regular file is written to a temporary file beside it and renamed into place once whole, so
/// a failed or stopped run never empties an existing report.
class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();
  /// Opens `path` for writing (an empty path: nothing to write, always fine).
  [[nodiscard]] Result<void> open(const std::string& path);
  /// Writes `text` and closes the file; a problem when any byte was not written.
  [[nodiscard]] Result<void> write(std::string_view text);
  [[nodiscard]] bool wanted() const { return !path_.empty(); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_;  // where a regular file is written until it is complete
  std::FILE* f_ = nullptr;
};
/// A fixed duration such as "1s" (no timeout names).
[[nodiscard]] Result<Millis> parse_fixed(const std::string& text);

/// --upstream-port, --refused-port, --blackhole-port, --accept-close-port, --accept-reset-port.
void add_port_options(CLI::App* cmd, EndpointPorts& ports);
/// --no-isolation and --no-keepalive-probe: the run's checks of the proxy's state (runner.hpp).
void add_state_options(CLI::App* cmd, bool& no_isolation, bool& no_keepalive_probe);
/// --tls-dir DIR: where upfault keeps its CA (ca.pem, ca.key) for the proxy to trust.
void add_tls_dir_option(CLI::App* cmd, std::string& dir);
/// Where upfault keeps its CA for proxies of one's own without --tls-dir:
/// $XDG_STATE_HOME/upfault/ca, else ~/.local/state/upfault/ca ("" without a home).
[[nodiscard]] std::string default_tls_dir();
/// Uses `dir` (or, when empty and `or_default`, default_tls_dir()) for the CA; returns the CA
/// certificate's path ("" when the CA stays in memory).
[[nodiscard]] Result<std::string> apply_tls_dir(const std::string& dir, bool or_default = false);
/// "upstream 127.0.0.1:P, refused :P, …" for the run header.
std::string describe_ports(const EndpointPorts& ports, const std::string& host = "127.0.0.1");

}  // namespace upfault::cli
