// The memory-BIO TLS session (see engine.hpp).
#include "tls/engine.hpp"

#include <openssl/err.h>

#include <algorithm>

namespace upfault::tls {

Result<std::unique_ptr<Engine>> Engine::make(SSL_CTX* ctx, Role role) {
  std::unique_ptr<Engine> e(new Engine);
  ERR_clear_error();
  e->ssl_.reset(SSL_new(ctx));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (!e->ssl_ || !in || !out) {
    BIO_free(in);
    BIO_free(out);
    ERR_clear_error();
    return problem("OpenSSL could not make a TLS session (out of memory)");
  }
  BIO_set_mem_eof_return(in, -1);  // an empty input means "want more", not end of file
  SSL_set_bio(e->ssl_.get(), in, out);
  e->in_ = in;
  e->out_ = out;
  if (role == Role::server)
    SSL_set_accept_state(e->ssl_.get());
  else
    SSL_set_connect_state(e->ssl_.get());
  return e;
}

template <class Op>
Engine::Outcome Engine::perform(Op&& op, int& n, bool quiet) {
  ERR_clear_error();
  n = op(ssl_.get());
  if (n > 0) return Outcome::ok;
  const int err = SSL_get_error(ssl_.get(), n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Outcome::want;
  if (err == SSL_ERROR_ZERO_RETURN) return Outcome::closed;
  const unsigned long e = ERR_get_error();
  if (!quiet && error_.empty()) {
    char buf[256] = "the TLS session failed";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    error_ = buf;
  }
  ERR_clear_error();
  return Outcome::failed;
}

bool Engine::feed(std::string_view raw) {
  while (!raw.empty()) {
    const int n = BIO_write(in_, raw.data(), static_cast<int>(std::min<std::size_t>(raw.size(), 1 << 20)));
    if (n <= 0) {
      if (error_.empty()) error_ = "the TLS session could not buffer the bytes that arrived";
      return false;
    }
    raw.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Engine::Progress Engine::handshake() {
  int n = 0;
  switch (perform(SSL_do_handshake, n)) {
    case Outcome::ok: return Progress::done;
    case Outcome::want: return Progress::more;
    default: return Progress::failed;
  }
}

Engine::Read Engine::decrypt(std::string& out, std::size_t limit) {
  char buf[16 * 1024];
  while (out.size() < limit) {
    const int room = static_cast<int>(std::min(sizeof buf, limit - out.size()));
    int n = 0;
    switch (perform([&](SSL* s) { return SSL_read(s, buf, room); }, n)) {
      case Outcome::ok: out.append(buf, static_cast<std::size_t>(n)); continue;
      case Outcome::want: return Read::ok;
      case Outcome::closed: return Read::closed;
      case Outcome::failed: return Read::failed;
    }
  }
  return Read::ok;
}

bool Engine::encrypt(std::string_view plain) {
  while (!plain.empty()) {
    const int size = static_cast<int>(std::min<std::size_t>(plain.size(), 1 << 20));
    int n = 0;
    if (perform([&](SSL* s) { return SSL_write(s, plain.data(), size); }, n) != Outcome::ok) {
      if (error_.empty()) error_ = "the TLS session cannot send any more";
      return false;
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Engine::close_notify() {
  int n = 0;
  // 0: the close_notify went out and the peer's has not come (all a one-way close needs).
  (void)perform([](SSL* s) { return SSL_shutdown(s) >= 0 ? 1 : -1; }, n, /*quiet=*/true);
}

bool Engine::fatal_alert() {
  // 5-byte header (application data, TLS 1.2 on the wire, 32 bytes) and 32 zero bytes: longer than
  // any AEAD tag, so it is decrypted, and fails (bad_record_mac) whatever the version and cipher.
  static const unsigned char kForged[5 + 32] = {0x17, 0x03, 0x03, 0x00, 0x20};
  const auto before = BIO_ctrl_pending(out_);
  if (BIO_write(in_, kForged, sizeof kForged) != static_cast<int>(sizeof kForged)) return false;
  char sink[4096];
  for (int i = 0; i < 64; ++i) {  // plaintext OpenSSL still holds comes first: the step discards it
    int n = 0;
    const auto outcome = perform([&](SSL* s) { return SSL_read(s, sink, sizeof sink); }, n, /*quiet=*/true);
    if (outcome == Outcome::ok) continue;
    if (outcome == Outcome::failed) break;
    return false;  // it wants more: the forged record completed another one, or the session had ended
  }
  return BIO_ctrl_pending(out_) > before;
}

std::string Engine::output() {
  std::string out;
  char* data = nullptr;
  const long n = BIO_get_mem_data(out_, &data);
  if (n > 0) out.assign(data, static_cast<std::size_t>(n));
  (void)BIO_reset(out_);
  return out;
}

std::string_view Engine::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

}  // namespace upfault::tls
