// A connection's reads and writes (see connection.hpp): every byte the proxy sends comes in
// through read_shared(), every byte of a step goes out through send().
#include <fmt/format.h>

#include <array>

#include "upstream/connection.hpp"

namespace upfault::upstream {

using namespace net;

// Reads more bytes into pending_ (decrypted, over TLS). Returns the error, if any.
awaitable<error_code> Connection::read_more() {
  if (tls_) co_return co_await read_tls();
  auto [ec, bytes] = co_await read_shared();
  if (!bytes.empty()) {
    pending_.append(bytes);
    if (!h2_) record_received(bytes);  // HTTP/2 frames are logged one line each (upstream/h2_session.cpp)
  }
  co_return ec;
}

// Reads what has arrived into a buffer of the thread's, waiting for readability first when
// nothing has: a connection holds no read buffer while it waits (ten thousand idle ones stay a few
// KiB each). The bytes are valid until the next co_await.
awaitable<std::pair<error_code, std::string_view>> Connection::read_shared() {
  thread_local std::array<char, 16 * 1024> scratch;
  while (true) {
    error_code ec;
    const auto n = sock_.read_some(asio::buffer(scratch), ec);  // non-blocking
    if (ec != asio::error::would_block) co_return std::pair{ec, std::string_view(scratch.data(), n)};
    auto [wec] = co_await sock_.async_wait(tcp::socket::wait_read, use_tuple);
    if (wec) co_return std::pair{wec, std::string_view()};
  }
}

// Over TLS, one record's worth at a time: a large body is never encrypted whole, so a proxy that
// does not read holds one record of it here, not a copy of all of it.
awaitable<bool> Connection::send(std::string_view bytes) {
  constexpr std::size_t kRecord = 16 * 1024;
  error_code ec;
  if (tls_) {
    for (auto rest = bytes; !rest.empty() && !ec;) {
      const auto piece = rest.substr(0, kRecord);
      rest.remove_prefix(piece.size());
      if (!tls_->encrypt(piece)) {
        finish({ConnectionEnd::error, fmt::format("error: TLS: {}", tls_->error())});
        co_return false;
      }
      ec = co_await write_raw(tls_->output());
    }
  } else {
    auto [wec, n] = co_await asio::async_write(sock_, asio::buffer(bytes), use_tuple);
    ec = wec;
  }
  update([&](ConnectionLog& c) { c.sent_total += ec ? 0 : bytes.size(); });
  if (ec) {
    finish(describe(ec));
    co_return false;
  }
  co_return true;
}

// Reads and discards until the proxy closes (read_shared: no buffer per connection).
awaitable<error_code> Connection::discard_until_closed() {
  while (true) {
    auto [ec, bytes] = co_await read_shared();
    if (!bytes.empty() && !h2_) record_received(bytes);
    if (ec) co_return ec;
  }
}

}  // namespace upfault::upstream
