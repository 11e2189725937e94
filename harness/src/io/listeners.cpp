// Listening sockets and their holders, from /proc (listeners.hpp).
#include "io/listeners.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <upfault/proxy.hpp>

namespace upfault {

namespace {

// The 4-byte words of /proc/net/tcp{,6} are the address's bytes read as host-order words.
boost::asio::ip::address_v6::bytes_type address_bytes(const std::string& hex) {
  boost::asio::ip::address_v6::bytes_type out{};
  const std::size_t words = hex.size() / 8;
  for (std::size_t w = 0; w < words && w < 4; ++w) {
    const auto word = static_cast<std::uint32_t>(std::stoul(hex.substr(w * 8, 8), nullptr, 16));
    for (std::size_t b = 0; b < 4; ++b) out[w * 4 + b] = static_cast<unsigned char>((word >> (8 * b)) & 0xff);
  }
  return out;
}

// Whether a socket bound to `local` takes connections for `host`: the same address, or a wildcard.
bool serves(const boost::asio::ip::address& local, const boost::asio::ip::address& host) {
  if (local.is_unspecified() || local == host) return true;
  if (!local.is_v6() || !local.to_v6().is_v4_mapped() || !host.is_v4()) return false;
  const auto v4 = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, local.to_v6());
  return v4 == host.to_v4() || v4.is_unspecified();
}

// Adds the listeners on `port` in `table` that take connections for `host` (any: every address).
void add_listeners(const char* table, bool v6, const std::optional<boost::asio::ip::address>& host, std::uint16_t port,
                   std::vector<std::uint64_t>& out) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the column names
  while (std::getline(in, line)) try {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
      std::uint64_t inode = 0;
      if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode))
        continue;
      const auto colon = local.find(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: TCP_LISTEN
      if (std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
      const auto bytes = address_bytes(local.substr(0, colon));
      boost::asio::ip::address address;
      if (v6)
        address = boost::asio::ip::address_v6(bytes);
      else
        address = boost::asio::ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]});
      if (!host || serves(address, *host)) out.push_back(inode);
    } catch (const std::exception&) {  // a line of another shape: not one of ours
    }
}

}  // namespace

std::vector<std::uint64_t> listening_sockets(const std::string& host, std::uint16_t port) {
  std::vector<std::uint64_t> out;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return out;
  add_listeners("/proc/net/tcp", false, address, port, out);
  add_listeners("/proc/net/tcp6", true, address, port, out);
  return out;
}

std::vector<std::uint64_t> listening_sockets(std::uint16_t port) {
  std::vector<std::uint64_t> out;
  add_listeners("/proc/net/tcp", false, std::nullopt, port, out);
  add_listeners("/proc/net/tcp6", true, std::nullopt, port, out);
  return out;
}

bool accepts_connections(const std::string& host, std::uint16_t port, Millis bound) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return false;
  asio::io_context ioc;
  asio::ip::tcp::socket sock(ioc);
  bool connected = false;
  sock.async_connect({address, port}, [&](const boost::system::error_code& e) { connected = !e; });
  ioc.run_for(bound);
  return connected;
}

std::vector<int> holders_of(const std::vector<std::uint64_t>& sockets) {
  std::vector<int> pids, out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      pids.push_back(std::stoi(name));
  }
  for (const int pid : pids)
    if (held_by({pid}, sockets)) out.push_back(pid);
  return out;
}

bool held_by(const std::vector<int>& pids, const std::vector<std::uint64_t>& sockets) {
  for (const int pid : pids) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(fmt::format("/proc/{}/fd", pid), ec), end; !ec && it != end;
         it.increment(ec)) {
      char target[64];
      const auto n = ::readlink(it->path().c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      const std::string_view link(target, static_cast<std::size_t>(n));
      if (!link.starts_with("socket:[") || !link.ends_with("]")) continue;
      std::uint64_t inode = 0;
      try {
        inode = std::stoull(std::string(link.substr(8, link.size() - 9)));
      } catch (const std::exception&) {
        continue;
      }
      if (std::find(sockets.begin(), sockets.end(), inode) != sockets.end()) return true;
    }
  }
  return false;
}

}  // namespace upfault
