#pragma once
/// upfault's throwaway certificate authority, which the fake upstream's TLS ports present
/// certificates from. Made in memory when first needed, or kept in a directory (--tls-dir) so a
/// proxy configured once keeps trusting it across runs.
#include <filesystem>
#include <string>

#include "upfault/problem.hpp"

namespace upfault::tls {

/// The name the valid certificate is for (with localhost, 127.0.0.1 and ::1); proxies verify this name.
inline constexpr const char* kServerName = "upfault.test";

/// The CA certificate (PEM) that proxies must trust.
[[nodiscard]] Result<std::string> ca_pem();

/// Keeps the CA in `dir` (ca.pem and ca.key, made there when missing) instead of in memory only.
/// Call before anything else here; a second call, or one after the CA exists, is an error.
[[nodiscard]] Result<void> use_directory(const std::filesystem::path& dir);

}  // namespace upfault::tls
