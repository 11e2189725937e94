// The throwaway CA and leaf certificates (see certs.hpp), with OpenSSL's X509 API.
#include "tls/certs.hpp"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <mutex>
#include <optional>

#include "base/bounded_input.hpp"

namespace upfault::tls {
namespace {

namespace fs = std::filesystem;

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using CertPtr = std::unique_ptr<X509, CertDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

constexpr long kDay = 24 * 3600;
constexpr std::size_t kMaxPem = 64 * 1024;

std::string openssl_error(std::string_view what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return fmt::format("{}: {}", what, buf);
}

struct Pair {
  CertPtr cert;
  KeyPtr key;
};

// One extension, written the way openssl.cnf writes it ("critical,CA:TRUE").
bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

struct CertSpec {
  const char* cn;
  const char* san;  // null: none (the CA)
  long not_before;  // seconds from now
  long not_after;
  bool ca;
};

// A certificate for a new P-256 key, signed by `issuer` (null: by itself).
Result<Pair> make_cert(const CertSpec& spec, const Pair* issuer) {
  KeyPtr key(EVP_EC_gen("P-256"));
  CertPtr cert(X509_new());
  if (!key || !cert) return problem(openssl_error("cannot make a key"));
  X509* x = cert.get();
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_set_version(x, 2);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("upfault"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn), -1, -1, 0);
  X509* signer_cert = issuer ? issuer->cert.get() : x;
  EVP_PKEY* signer_key = issuer ? issuer->key.get() : key.get();
  X509_set_issuer_name(x, X509_get_subject_name(signer_cert));
  bool ok = add_ext(x, signer_cert, NID_subject_key_identifier, "hash");
  if (spec.ca) {
    ok = ok && add_ext(x, signer_cert, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext(x, signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_ext(x, signer_cert, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x, signer_cert, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x, signer_cert, NID_ext_key_usage, "serverAuth") &&
         add_ext(x, signer_cert, NID_subject_alt_name, spec.san);
  }
  if (issuer) ok = ok && add_ext(x, signer_cert, NID_authority_key_identifier, "keyid:always");
  if (!ok) return problem(openssl_error("cannot add a certificate extension"));
  if (X509_sign(x, signer_key, EVP_sha256()) == 0) return problem(openssl_error("cannot sign a certificate"));
  return Pair{std::move(cert), std::move(key)};
}

const CertSpec kCa{"upfault throwaway CA", nullptr, -kDay, 3650 * kDay, true};
// 127.0.0.1 as a DNS name too: Apache's mod_ssl and Traffic Server match a proxied host's name
// against DNS names only, and are pointed at 127.0.0.1.
constexpr const char* kValidSan = "DNS:upfault.test,DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1,IP:::1";

CertSpec leaf_spec(Leaf leaf) {
  switch (leaf) {
    case Leaf::valid: return {kServerName, kValidSan, -kDay, 30 * kDay, false};
    case Leaf::expired: return {kServerName, kValidSan, -60 * kDay, -30 * kDay, false};
    case Leaf::wrong_name: return {"wrong.upfault.invalid", "DNS:wrong.upfault.invalid", -kDay, 30 * kDay, false};
    case Leaf::untrusted: return {kServerName, kValidSan, -kDay, 30 * kDay, false};
  }
  return {kServerName, kValidSan, -kDay, 30 * kDay, false};
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<void> write_file(const fs::path& file, const std::string& text, mode_t mode) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out || ::chmod(file.c_str(), mode) != 0) return problem(fmt::format("cannot write {}", file.string()));
  return {};
}

// The CA kept in `dir`, or a new one written there.
Result<Pair> ca_in(const fs::path& dir) {
  const auto cert_file = dir / "ca.pem", key_file = dir / "ca.key";
  std::error_code ec;
  if (fs::exists(cert_file, ec) || fs::exists(key_file, ec)) {
    auto cert_text = read_bounded(cert_file, kMaxPem);
    if (!cert_text) return cert_text.error().prefixed("--tls-dir: ");
    auto key_text = read_bounded(key_file, kMaxPem);
    if (!key_text) return key_text.error().prefixed("--tls-dir: ");
    BioPtr cb(BIO_new_mem_buf(cert_text->data(), static_cast<int>(cert_text->size())));
    BioPtr kb(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())));
    CertPtr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    KeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!cert || !key)
      return problem(openssl_error(fmt::format("--tls-dir: {} and {}", cert_file.string(), key_file.string())));
    if (X509_check_private_key(cert.get(), key.get()) != 1)
      return problem(fmt::format("--tls-dir: {} is not the key of {}", key_file.string(), cert_file.string()));
    return Pair{std::move(cert), std::move(key)};
  }
  fs::create_directories(dir, ec);
  if (ec) return problem(fmt::format("--tls-dir: cannot create {}: {}", dir.string(), ec.message()));
  auto made = make_cert(kCa, nullptr);
  if (!made) return made;
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), made->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  if (auto w = write_file(key_file, std::string(data, static_cast<std::size_t>(n)), 0600); !w) return w.error();
  if (auto w = write_file(cert_file, to_pem(made->cert.get()), 0644); !w) return w.error();
  return made;
}

struct Store {
  std::mutex m;
  std::optional<fs::path> dir;
  std::optional<Pair> ca;
  std::map<Leaf, Pair> leaves;

  Result<const Pair*> authority() {
    if (!ca) {
      auto made = dir ? ca_in(*dir) : make_cert(kCa, nullptr);
      if (!made) return made.error();
      ca = std::move(*made);
    }
    return &*ca;
  }
  Result<const Pair*> leaf(Leaf which) {
    if (auto it = leaves.find(which); it != leaves.end()) return &it->second;
    auto issuer = authority();
    if (!issuer) return issuer.error();
    auto made = make_cert(leaf_spec(which), which == Leaf::untrusted ? nullptr : *issuer);
    if (!made) return made.error();
    return &leaves.emplace(which, std::move(*made)).first->second;
  }
};

Store& store() {
  static Store s;
  return s;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const std::string_view want(static_cast<const char*>(arg));
  for (unsigned int i = 0; i < inlen;) {
    const unsigned len = in[i];
    if (i + 1 + len > inlen) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;  // the proxy did not offer it: no ALPN, the handshake goes on
}

}  // namespace

Result<CtxPtr> server_context(Leaf leaf, std::string_view alpn, Handshakes handshakes) {
  std::lock_guard lock(store().m);
  auto pair = store().leaf(leaf);
  if (!pair) return pair.error();
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return problem(openssl_error("cannot make a TLS context"));
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  if (handshakes == Handshakes::resumable) {
    static constexpr unsigned char kContext[] = "upfault";
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(c, kSessionCacheSize);
    SSL_CTX_set_session_id_context(c, kContext, sizeof kContext - 1);
    SSL_CTX_set_num_tickets(c, 1);
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  }
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);  // an idle connection holds no record buffers
  if (SSL_CTX_use_certificate(c, (*pair)->cert.get()) != 1 || SSL_CTX_use_PrivateKey(c, (*pair)->key.get()) != 1)
    return problem(openssl_error("cannot use the certificate"));
  static const char* const kH2 = "h2";
  static const char* const kHttp11 = "http/1.1";
  SSL_CTX_set_alpn_select_cb(c, select_alpn, const_cast<char*>(alpn == "h2" ? kH2 : kHttp11));
  return ctx;
}

Result<std::string> ca_pem() {
  std::lock_guard lock(store().m);
  auto ca = store().authority();
  if (!ca) return ca.error();
  return to_pem((*ca)->cert.get());
}

Result<void> use_directory(const fs::path& dir) {
  std::lock_guard lock(store().m);
  if (store().ca || store().dir) return problem("the TLS directory is set once, before the CA is made");
  store().dir = dir;
  auto ca = store().authority();
  if (!ca) {
    store().dir.reset();
    return ca.error();
  }
  return {};
}

}  // namespace upfault::tls
