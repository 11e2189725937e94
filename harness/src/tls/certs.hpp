#pragma once
// The leaf certificates upfault's TLS endpoints present, from its throwaway CA (upfault/tls.hpp):
// made with OpenSSL when first needed (P-256 keys: milliseconds).
#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "upfault/problem.hpp"
#include "upfault/tls.hpp"

namespace upfault::tls {

/// Which certificate a TLS listener presents.
enum class Leaf { valid, expired, wrong_name, untrusted };

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;

/// Whether a connection may resume a session an earlier one made.
enum class Handshakes {
  /// Every connection a full handshake (no tickets, no session cache): the proxy is shown the
  /// certificate each time, as a certificate verdict needs.
  full,
  /// Resumption as a production origin allows it (TLS 1.3 tickets, TLS 1.2 tickets and a session
  /// cache of kSessionCacheSize): a proxy that opens a connection per request is not measured by
  /// full handshakes it would not pay against a real origin.
  resumable,
};
inline constexpr long kSessionCacheSize = 1024;

/// A server context presenting `leaf`, selecting ALPN `alpn` ("http/1.1" or "h2") when the proxy
/// offers it.
[[nodiscard]] Result<CtxPtr> server_context(Leaf leaf, std::string_view alpn, Handshakes handshakes = Handshakes::full);

}  // namespace upfault::tls
