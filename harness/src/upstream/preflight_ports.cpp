// The fake upstream in pre-flight (FakeUpstream::Options::preflight, preflight.hpp): the refused
// port, bound without listening, and how it listens during pre-flight and refuses again after;
// the accept loops of the refused and blackhole ports meanwhile.
#include <fmt/format.h>

#include <future>

#include "upstream/connection.hpp"
#include "upstream/server.hpp"

namespace upfault {

using namespace net;

// A socket that is bound but does not listen: the kernel refuses connects to its port, and holding
// it keeps anyone else from taking the port during the run. No SO_REUSEADDR or SO_REUSEPORT: with
// either, a proxy that sets them on its own listener (HAProxy does) could bind the same port and
// listen there, taking the connects meant to be refused — seen with a proxy instance whose port,
// picked from the kernel and released, was then picked for another upstream's refused port.
// `reuse_addr` only when it is bound again after pre-flight and a connection it accepted there
// lingers in TIME_WAIT.
Result<void> FakeUpstream::Impl::bind_refused(tcp::acceptor& a, std::uint16_t port, bool reuse_addr) {
  error_code ec;
  const tcp::endpoint ep(asio::ip::make_address(options.host, ec), port);
  if (!ec) a.open(ep.protocol(), ec);
  if (!ec) close_on_exec(a.native_handle());
  if (!ec && reuse_addr) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
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
    asio::co_spawn(ioc, serve_preflight(std::move(sock), name), asio::detached);
  }
}

// A connection accepted on the refused or blackhole port during pre-flight. The refused port's
// are counted until they end, and closed with RST (SO_LINGER 0) when this side closes (after the
// proxy did): the port is bound again after pre-flight without SO_REUSEADDR, which neither a
// connection still open nor one in TIME_WAIT on this side would let happen.
awaitable<void> FakeUpstream::Impl::serve_preflight(tcp::socket sock, std::string_view name) {
  const bool counted = name == "refused";
  if (counted) {
    error_code ignored;
    sock.set_option(asio::socket_base::linger(true, 0), ignored);
    std::lock_guard lock(m);
    ++refused_open;
  }
  co_await upstream::serve_connection(std::move(sock), *this, upstream::Slot(open_connections), name);
  if (!counted) co_return;
  {
    std::lock_guard lock(m);
    --refused_open;
  }
  refused_closed.notify_all();
}

Result<void> FakeUpstream::Impl::end_preflight() {
  preflight = false;
  error_code ignored;
  blackhole.cancel(ignored);
  // The listening socket closes (its accept is cancelled) and the port is bound again at once, so
  // connects are refused again. The probes' connections were closed by the proxy (Connection:
  // close; a profile's proxy is stopped first), which leaves no TIME_WAIT on this side.
  const auto port = refused.local_endpoint(ignored).port();
  refused.close(ignored);
  auto bound = bind_refused(refused, port, false);
  if (!bound) {
    refused.close(ignored);
    bound = bind_refused(refused, port, true);
  }
  std::lock_guard lock(m);
  if (blackhole_routed && fillers.empty()) fill_accept_queue();
  return bound;
}

Result<void> FakeUpstream::end_preflight() {
  if (!impl_->preflight) return {};
  {
    // The probes' connections to the refused port end once the proxy has closed them (their
    // answers asked Connection: close; a profile's proxy is stopped before this): waited for.
    std::unique_lock lock(impl_->m);
    impl_->refused_closed.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->refused_open == 0; });
  }
  if (impl_->ioc.stopped()) return impl_->end_preflight();
  // On the acceptors' thread: a pending accept is cancelled where it waits.
  std::promise<Result<void>> ended;
  asio::post(impl_->ioc, [&] { ended.set_value(impl_->end_preflight()); });
  return ended.get_future().get();
}

}  // namespace upfault
