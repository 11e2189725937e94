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

/// A server context presenting `leaf`, selecting ALPN `alpn` ("http/1.1" or "h2") when the proxy
/// offers it; full handshakes only (no tickets, no session cache), so every connection verifies.
[[nodiscard]] Result<CtxPtr> server_context(Leaf leaf, std::string_view alpn);

}  // namespace upfault::tls
