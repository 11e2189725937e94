// The memory-BIO TLS session (see engine.hpp).
#include "tls/engine.hpp"

#include <openssl/err.h>

namespace upfault::tls {

Engine::Engine(SSL_CTX* ctx) : ssl_(SSL_new(ctx)), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  BIO_set_mem_eof_return(in_, -1);  // an empty input means "want more", not end of file
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

Engine::~Engine() { SSL_free(ssl_); }

void Engine::feed(std::string_view raw) {
  if (!raw.empty()) BIO_write(in_, raw.data(), static_cast<int>(raw.size()));
}

void Engine::note_error() {
  const unsigned long e = ERR_get_error();
  char buf[256] = "the TLS session failed";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  if (error_.empty()) error_ = buf;
}

Engine::Progress Engine::handshake() {
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return Progress::done;
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::more;
  note_error();
  return Progress::failed;
}

Engine::Read Engine::decrypt(std::string& out, std::size_t limit) {
  char buf[16 * 1024];
  while (out.size() < limit) {
    const int n = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof buf, limit - out.size())));
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Read::ok;
    if (err == SSL_ERROR_ZERO_RETURN) return Read::closed;
    note_error();
    return Read::failed;
  }
  return Read::ok;
}

bool Engine::encrypt(std::string_view plain) {
  while (!plain.empty()) {
    const int n = SSL_write(ssl_, plain.data(), static_cast<int>(std::min<std::size_t>(plain.size(), 1 << 20)));
    if (n <= 0) {
      note_error();
      return false;
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Engine::close_notify() { SSL_shutdown(ssl_); }

bool Engine::fatal_alert() {
  // 5-byte header (application data, TLS 1.2 on the wire, 32 bytes) and 32 zero bytes: longer than
  // any AEAD tag, so it is decrypted, and fails (bad_record_mac) whatever the version and cipher.
  static const unsigned char kForged[5 + 32] = {0x17, 0x03, 0x03, 0x00, 0x20};
  const auto before = BIO_ctrl_pending(out_);
  BIO_write(in_, kForged, sizeof kForged);
  char sink[4096];
  for (int i = 0; i < 64; ++i) {  // plaintext OpenSSL still holds comes first: the step discards it
    const int n = SSL_read(ssl_, sink, sizeof sink);
    if (n > 0) continue;
    if (SSL_get_error(ssl_, n) == SSL_ERROR_SSL) break;
    return false;  // it wants more: the forged record completed another one, or the session had ended
  }
  ERR_clear_error();
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
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

}  // namespace upfault::tls
