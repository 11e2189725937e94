// A connection's TLS (see connection.hpp): the handshake, decrypting what the proxy sends, and the
// steps that act on TLS itself. The session is an OpenSSL one over memory buffers (tls/engine.hpp),
// so every raw byte goes through write_raw.
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "upstream/connection.hpp"

namespace upfault::upstream {

using namespace net;
using namespace boost::asio::experimental::awaitable_operators;

// Over TLS: returns once some plaintext was added to pending_, or the session ended (a
// close_notify reads as eof; a failure as a protocol error, with its reason in tls_failure_).
awaitable<error_code> Connection::read_tls() {
  constexpr std::size_t kMaxDecrypted = 64 * 1024;  // per call: what stays in OpenSSL's buffer is read next time
  while (true) {
    const auto before = pending_.size();
    const auto state = tls_->decrypt(pending_, before + kMaxDecrypted);
    if (auto out = tls_->output(); !out.empty()) co_await write_raw(out);  // e.g. a KeyUpdate's answer
    if (pending_.size() > before) {
      if (!spoken_) note_spoken();
      record_received(std::string_view(pending_).substr(before));
      co_return error_code{};
    }
    if (state == tls::Engine::Read::closed) co_return error_code(asio::error::eof);
    if (state == tls::Engine::Read::failed) {
      tls_failure_ = tls_->error();
      if (!route_) note_refusal();  // TLS 1.3: the proxy checks our certificate after our handshake is done
      co_return error_code(EPROTO, boost::system::system_category());
    }
    auto [ec, bytes] = co_await read_shared();
    if (!tls_->feed(bytes)) {
      tls_failure_ = tls_->error();
      co_return error_code(ENOMEM, boost::system::system_category());
    }
    if (ec && bytes.empty()) co_return ec;
  }
}

// The handshake within Options::handshake_timeout. Its slot is given back either way, and a
// handshake that failed or stalled frees its session at once: the connection ends.
awaitable<bool> Connection::handshake_in_time() {
  auto done = co_await (handshake() || sleep_until(accepted_ + up_.options.handshake_timeout));
  handshake_slot_.release();
  if (done.index() == 0 && std::get<0>(done)) co_return true;
  if (done.index() == 1 && up_.options.verbose)
    fmt::print(stderr, "upfault upstream: TLS handshake not done {} ms after the accept: closed\n",
               up_.options.handshake_timeout.count());
  tls_.reset();
  co_return false;
}

namespace {
// True once `in` holds the first TLS record whole (or shows it is no handshake record, or one
// too long to be: the session then fails it at once).
bool first_record_whole(std::string_view in) {
  constexpr std::size_t kHeader = 5, kMaxRecord = (1 << 14) + 2048;
  if (in.size() < kHeader) return false;
  const auto length =
      (static_cast<std::size_t>(static_cast<unsigned char>(in[3])) << 8) | static_cast<unsigned char>(in[4]);
  return in[0] != '\x16' || length > kMaxRecord || in.size() >= kHeader + length;
}
}  // namespace

// The TLS handshake, before any request. A failure ends the connection: no scenario is known yet.
// The session (an SSL object and its buffers, tens of KiB) is made once the ClientHello's first
// record has come whole: until then a connection holds only the bytes it was sent.
awaitable<bool> Connection::handshake() {
  std::string first;
  while (!first_record_whole(first)) {
    auto [ec, bytes] = co_await read_shared();
    first.append(bytes);
    if (ec) co_return false;
  }
  if (!first.empty() && first[0] != '\x16') up_.note_plain_on_tls(listener_);  // not a TLS handshake record
  auto engine = tls::Engine::make(tls_ctx_);
  if (!engine) {
    if (up_.options.verbose) fmt::print(stderr, "upfault upstream: {}\n", engine.error().message);
    co_return false;
  }
  tls_ = std::move(*engine);
  const bool fed = tls_->feed(first);
  std::string().swap(first);
  if (!fed) co_return false;
  while (true) {
    const auto progress = tls_->handshake();
    if (auto out = tls_->output(); !out.empty() && co_await write_raw(out)) co_return false;
    if (progress == tls::Engine::Progress::done) co_return true;
    if (progress == tls::Engine::Progress::failed) {
      note_refusal();
      if (up_.options.verbose) fmt::print(stderr, "upfault upstream: TLS handshake failed: {}\n", tls_->error());
      co_return false;
    }
    auto [ec, bytes] = co_await read_shared();
    if (ec || !tls_->feed(bytes)) co_return false;
  }
}

// The proxy's own alert, before any request, on a port whose certificate is valid: it does not
// trust upfault's CA or checks another name. Kept for the runner, which calls that a setup error.
bool Connection::valid_certificate_port() const {
  return listener_ == "tls" || listener_ == "tls-h2" || (tls_ctx_ && tls_ctx_ == up_.valid_ctx.get());
}

void Connection::note_refusal() {
  if (!valid_certificate_port() || tls_->error().find("alert") == std::string::npos) return;
  std::lock_guard lock(up_.m);
  up_.tls_refusal = tls_->error();
  up_.tell_tls_watchers();
}

// A connection to a valid certificate that the proxy closed after the handshake, before any byte of
// a request: how nginx refuses a certificate (it verifies after the handshake). Only counted while no
// request ever came over TLS (FakeUpstream::tls_refusal), so a pool's idle connection is not taken for it.
void Connection::note_closed_unasked() {
  if (!valid_certificate_port()) return;
  std::lock_guard lock(up_.m);
  up_.tls_closed_unasked = true;
  up_.tell_tls_watchers();
}

void Connection::note_tls_on_plain() {
  std::lock_guard lock(up_.m);
  up_.tls_on_plain = fmt::format(
      "the proxy started a TLS handshake on upfault's plaintext {} port: send /__tls/ and /__h2/ to upfault's TLS "
      "ports (`upfault routes` prints the lines), and plain HTTP to the plaintext ones",
      listener_.empty() ? std::string_view("scripted") : listener_);
}

void Connection::note_spoken() {
  spoken_ = true;
  std::lock_guard lock(up_.m);
  up_.tls_spoken = true;
}

awaitable<error_code> Connection::write_raw(std::string_view raw) {
  auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(raw), use_tuple);
  co_return ec;
}

awaitable<bool> Connection::tls_close_notify() {
  tls_->close_notify();
  if (auto ec = co_await write_raw(tls_->output())) {
    finish(describe(ec));
    co_return false;
  }
  mark("close_notify sent");
  co_return true;
}

awaitable<bool> Connection::tls_fatal_alert() {
  if (!tls_->fatal_alert()) {
    finish({ConnectionEnd::error, fmt::format("error: TLS: no fatal alert could be sent ({})",
                                              tls_->error().empty() ? "the session had ended" : tls_->error())});
    co_return false;
  }
  if (auto ec = co_await write_raw(tls_->output())) {
    finish(describe(ec));
    co_return false;
  }
  mark("fatal alert sent (bad_record_mac)");
  co_return true;
}

awaitable<bool> Connection::tls_send_partial(std::string_view bytes, std::size_t keep) {
  if (!tls_->encrypt(bytes)) {
    finish({ConnectionEnd::error, fmt::format("error: TLS: {}", tls_->error())});
    co_return false;
  }
  const auto raw = tls_->output();
  co_return co_await send_raw(std::string_view(raw).substr(0, std::min(keep, raw.size())));
}

awaitable<bool> Connection::send_raw(std::string_view bytes) {
  if (auto ec = co_await write_raw(bytes)) {
    finish(describe(ec));
    co_return false;
  }
  co_return true;
}

}  // namespace upfault::upstream
