// listening_sockets: how upfault tells that a proxy it did not start was restarted (by a supervisor)
// while it still accepts connections. Real sockets on loopback; the kernel's /proc/net tables.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include "io/listeners.hpp"
#include "proxy/reaper.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using upfault::listening_sockets;

namespace {

tcp::acceptor listen_on(asio::io_context& ioc, const asio::ip::address& address, std::uint16_t port) {
  tcp::acceptor a(ioc);
  const tcp::endpoint at{address, port};
  a.open(at.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(at);
  a.listen();
  return a;
}

}  // namespace

TEST(Listeners, ARestartListensOnANewSocketOnTheSamePort) {
  asio::io_context ioc;
  auto first = listen_on(ioc, asio::ip::make_address("127.0.0.1"), 0);
  const auto port = first.local_endpoint().port();
  const auto before = listening_sockets("127.0.0.1", port);
  ASSERT_EQ(before.size(), 1u) << "the listener on port " << port << " is not found in /proc/net/tcp";
  EXPECT_EQ(listening_sockets("127.0.0.1", port), before) << "the same socket must keep its name";
  first.close();
  EXPECT_TRUE(listening_sockets("127.0.0.1", port).empty()) << "a closed listener is still listed";
  auto second = listen_on(ioc, asio::ip::make_address("127.0.0.1"), port);
  const auto after = listening_sockets("127.0.0.1", port);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after, before) << "a new listener on the same port has the old one's name";
}

TEST(Listeners, OnlyListeningSocketsForThatAddressCount) {
  asio::io_context ioc;
  // Bound, not listening (how upfault keeps its refused port): not a listener.
  tcp::socket bound(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  EXPECT_TRUE(listening_sockets("127.0.0.1", bound.local_endpoint().port()).empty());
  // An IPv6 listener on the v4-mapped loopback address (/proc/net/tcp6) takes 127.0.0.1's
  // connections too. (A wildcard listener would as well; tests bind loopback addresses only.)
  boost::system::error_code ec;
  tcp::acceptor mapped(ioc);
  mapped.open(tcp::v6(), ec);
  if (!ec) {
    mapped.set_option(asio::ip::v6_only(false));
    mapped.bind({asio::ip::make_address("::ffff:127.0.0.1"), 0}, ec);
  }
  if (!ec) {
    mapped.listen();
    EXPECT_EQ(listening_sockets("127.0.0.1", mapped.local_endpoint().port()).size(), 1u);
  }
  // One on another loopback address does not.
  auto other = listen_on(ioc, asio::ip::make_address("127.0.0.2"), 0);
  EXPECT_TRUE(listening_sockets("127.0.0.1", other.local_endpoint().port()).empty());
  EXPECT_EQ(listening_sockets("127.0.0.2", other.local_endpoint().port()).size(), 1u);
  EXPECT_TRUE(listening_sockets("not an address", other.local_endpoint().port()).empty());
}

// Who holds a listening socket, and whether that process is still alive: a zombie or a process
// that is gone stopped the proxy, even while its socket is still listed.
TEST(Listeners, HoldersAndTheirEnd) {
  asio::io_context ioc;
  auto a = listen_on(ioc, asio::ip::make_address("127.0.0.1"), 0);
  const auto sockets = upfault::listening_sockets("127.0.0.1", a.local_endpoint().port());
  ASSERT_EQ(sockets.size(), 1u);
  const auto holders = upfault::holders_of(sockets);
  EXPECT_EQ(holders, std::vector<int>{::getpid()});
  EXPECT_FALSE(upfault::reaper::gone_or_exiting(::getpid()));
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);  // a zombie until reaped
  EXPECT_TRUE(upfault::reaper::gone_or_exiting(child)) << "a zombie is not alive";
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(upfault::reaper::gone_or_exiting(child)) << "a reaped process is gone";
}
