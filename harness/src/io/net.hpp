#pragma once
// Asio aliases and helpers used inside the library only.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace upfault::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
template <typename T = void>
using awaitable = asio::awaitable<T>;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

/// An endpoint on `host`, which must be a literal IPv4 or IPv6 address.
tcp::endpoint endpoint(const std::string& host, unsigned short port);

/// True for the errors a peer's reset produces.
bool is_reset(const error_code& ec);

/// Marks a descriptor close-on-exec (Asio opens sockets without it).
void close_on_exec(int fd);

/// Waits until `t` on the current coroutine's executor; cancelled like any operation (join it
/// with another with `||` to bound that one in time).
inline awaitable<void> sleep_until(Clock::time_point t) {
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(use_tuple);
}

/// Position just past the end of a message head ("\r\n\r\n", or a bare "\n\n"), or npos.
std::size_t head_end(std::string_view buf);

}  // namespace upfault::net
