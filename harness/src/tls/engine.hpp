#pragma once
// A TLS session over memory buffers (OpenSSL with memory BIOs): the connection moves the raw bytes
// itself, so a step can do what a TLS library never would — send a record only in part, end with
// a TCP FIN and no close_notify, or put plain bytes between records.
//
// Every OpenSSL call on the session goes through perform(), as Asio's ssl::detail::engine does:
// the thread's error queue is cleared before the call (SSL_get_error reads it: a stale error left
// by any earlier call on the thread would turn "wants more input" into a failure) and read once
// after it, into error().
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "upfault/problem.hpp"

namespace upfault::tls {

class Engine {
 public:
  /// The upstream is a server; the client role is for tests that talk to it over memory.
  enum class Role { server, client };
  /// A session on `ctx`; a Problem when OpenSSL cannot make one (out of memory).
  [[nodiscard]] static Result<std::unique_ptr<Engine>> make(SSL_CTX* ctx, Role role = Role::server);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Raw bytes that arrived from the peer; false when they could not be buffered.
  [[nodiscard]] bool feed(std::string_view raw);
  enum class Progress { done, more, failed };
  /// Drives the handshake with what was fed; `more`: feed what arrives next (after sending output()).
  Progress handshake();
  /// Decrypts what was fed, appending the plaintext to `out` (at most `limit` bytes in all).
  enum class Read { ok, closed, failed };
  Read decrypt(std::string& out, std::size_t limit);
  /// Encrypts `plain` into output().
  bool encrypt(std::string_view plain);
  /// Puts a close_notify alert into output().
  void close_notify();
  /// Puts a fatal bad_record_mac alert into output(), protected as the session protects records
  /// (encrypted, in TLS 1.3): OpenSSL has no call that sends an alert, so the engine is fed a
  /// record no peer could have sent (an application-data record of zeros, which fails its
  /// authentication) and OpenSSL answers it as TLS requires. The session is over after it; false
  /// when no alert came out (it had failed already).
  bool fatal_alert();
  /// Takes the raw bytes to send (handshake records, encrypted data, alerts).
  [[nodiscard]] std::string output();
  /// The protocol ALPN selected ("" when none).
  [[nodiscard]] std::string_view alpn() const;
  /// Why the session failed (OpenSSL's reason), after failed.
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  Engine() = default;
  // What one OpenSSL call came to.
  enum class Outcome { ok, want, closed, failed };
  // Runs `op` on the session with a clean error queue; on `failed`, error() says why (the first
  // failure's reason is kept) unless `quiet`. `n` is op's return value.
  template <class Op>
  Outcome perform(Op&& op, int& n, bool quiet = false);

  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  std::unique_ptr<SSL, SslFree> ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  std::string error_;
};

}  // namespace upfault::tls
