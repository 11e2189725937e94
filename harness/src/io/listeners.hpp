#pragma once
// Which sockets listen on a port, as the kernel names them (inodes in /proc/net/tcp and tcp6), and
// which processes hold them: a proxy upfault did not start cannot be watched by PID, but a restart
// (a supervisor, systemd) leaves it listening on new sockets; and a proxy upfault started is ready
// only when its own processes listen on its port, not whatever else took the port meanwhile.
#include <cstdint>
#include <string>
#include <vector>

namespace upfault {

/// The inodes of the sockets listening on `port` at `host` or at a wildcard address; empty when
/// there are none or /proc/net cannot be read (another network namespace).
[[nodiscard]] std::vector<std::uint64_t> listening_sockets(const std::string& host, std::uint16_t port);

/// The inodes of the sockets listening on `port` at any address, IPv4 or IPv6.
[[nodiscard]] std::vector<std::uint64_t> listening_sockets(std::uint16_t port);

/// A listening port as the kernel sees it: its sockets and the processes that hold them.
struct Listener {
  std::vector<std::uint64_t> sockets;
  std::vector<int> holders;
};

/// The processes (readable to upfault: its user's) that have one of `sockets` open.
[[nodiscard]] std::vector<int> holders_of(const std::vector<std::uint64_t>& sockets);

/// True when one of `pids` has one of `sockets` open (its /proc/PID/fd).
[[nodiscard]] bool held_by(const std::vector<int>& pids, const std::vector<std::uint64_t>& sockets);

}  // namespace upfault
