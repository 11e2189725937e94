// The fake upstream in pre-flight (FakeUpstream::Options::preflight, preflight.hpp): the refused
// port, bound without listening, and how it listens during pre-flight and refuses again after;
// the accept loops of the refused and blackhole ports meanwhile.
#include <fmt/format.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "upstream/connection.hpp"
#include "upstream/server.hpp"

namespace upfault {

using namespace net;

// A socket that is bound but does not listen: the kernel refuses connects to its port, and holding
// it keeps anyone else from taking the port during the run. No SO_REUSEADDR or SO_REUSEPORT once
// bound: with either, a proxy that sets them on its own listener (HAProxy does) could bind the
// same port and listen there, taking the connects meant to be refused.
//
// The port is bound by number, even one the kernel picked: Linux keeps a port bound by number
// when a listening socket stops listening (end_preflight), and releases a port it picked itself.
// The kernel's pick is made by a first socket, which holds the port until this one has it (both
// with SO_REUSEADDR for that moment, which this one then drops).
Result<void> FakeUpstream::Impl::bind_refused(std::uint16_t port) {
  error_code ec;
  tcp::endpoint ep(asio::ip::make_address(options.host, ec), port);
  tcp::acceptor picker(ioc);
  if (!ec && port == 0) {
    picker.open(ep.protocol(), ec);
    if (!ec) picker.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) picker.bind(ep, ec);
    if (!ec) ep = picker.local_endpoint(ec);
  }
  if (!ec) refused.open(ep.protocol(), ec);
  if (!ec) close_on_exec(refused.native_handle());
  if (!ec && port == 0) refused.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) refused.bind(ep, ec);
  if (!ec) refused.set_option(tcp::acceptor::reuse_address(false), ec);
  if (ec) return problem(fmt::format("{}:{} (--refused-port): {}", options.host, port, ec.message()));
  return {};
}

awaitable<void> FakeUpstream::Impl::preflight_accept_loop(tcp::acceptor& a, std::string_view name) {
  while (true) {
    auto [ec, sock] = co_await a.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !preflight) co_return;
    if (ec) {
      if (!co_await back_off(ec, false)) co_return;
      continue;
    }
    asio::co_spawn(ioc, upstream::serve_connection(std::move(sock), *this, upstream::Slot(open_connections), name),
                   asio::detached);
  }
}

Result<void> FakeUpstream::Impl::end_preflight() {
  preflight = false;
  error_code ignored;
  blackhole.cancel(ignored);
  refused.cancel(ignored);
  // The refused port stops listening where it is bound (a TCP socket "connected" to AF_UNSPEC is
  // disconnected; from LISTEN it goes back to closed and bound): connects are refused again at
  // once, and the connections it accepted during pre-flight go on until the proxy closes them.
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  Result<void> stopped;
  if (::connect(refused.native_handle(), &unspec, sizeof unspec) != 0)
    stopped = problem(fmt::format("{}:{} (--refused-port): could not stop listening after pre-flight: {}", options.host,
                                  refused.local_endpoint(ignored).port(), std::strerror(errno)));
  std::lock_guard lock(m);
  if (blackhole_routed && fillers.empty()) fill_accept_queue();
  return stopped;
}

Result<void> FakeUpstream::end_preflight() {
  if (!impl_->preflight) return {};
  if (impl_->ioc.stopped()) return impl_->end_preflight();
  // On the acceptors' thread: a pending accept is cancelled where it waits.
  std::promise<Result<void>> ended;
  asio::post(impl_->ioc, [&] { ended.set_value(impl_->end_preflight()); });
  return ended.get_future().get();
}

}  // namespace upfault
