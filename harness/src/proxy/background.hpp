#pragma once
// A proxy whose config sends it to the background (nginx without `daemon off;`, HAProxy with
// `daemon`): the process upfault started exits 0 and the proxy goes on in a process of its own,
// in a session of its own, outside the process group upfault stops (and nginx overwrites its
// environment, so the lineage mark cannot be read either). Such a process is found by what ties
// it to the proxy upfault started: it listens on the port picked for that proxy, or a pid file in
// that proxy's work dir names it; and it must be below upfault in the process tree (a proxy's
// orphans are re-parented to upfault, its subreaper). Nothing else is ever named or stopped.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace upfault::background {

/// A process a proxy left running.
struct Stray {
  int pid = 0;
  std::string program;  ///< its name (/proc/PID/comm): "nginx", "haproxy"
};

/// The processes below upfault in the process tree that hold a listening TCP socket on `port`
/// (any address, IPv4 or IPv6), or whose pid a `*.pid` file directly in `workdir` names; never
/// `leader` (the process upfault started, reaped: its pid may be another's by now).
[[nodiscard]] std::vector<Stray> find(std::uint16_t port, const std::filesystem::path& workdir, int leader);

/// What to change in a config that runs `program` in the background, e.g. "your config runs
/// nginx in the background: add `daemon off;`".
[[nodiscard]] std::string advice(std::string_view program);

}  // namespace upfault::background
