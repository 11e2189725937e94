#pragma once
// A TLS server session over memory buffers (OpenSSL with memory BIOs): the connection moves the
// raw bytes itself, so a step can do what a TLS library never would — send a record only in
// part, end with a TCP FIN and no close_notify, or put plain bytes between records.
#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace upfault::tls {

class Engine {
 public:
  explicit Engine(SSL_CTX* ctx);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Raw bytes that arrived from the proxy.
  void feed(std::string_view raw);
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
  void note_error();
  SSL* ssl_;
  BIO* in_;   // owned by ssl_
  BIO* out_;  // owned by ssl_
  std::string error_;
};

}  // namespace upfault::tls
