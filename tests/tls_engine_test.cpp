// The upstream's TLS session (tls/engine.hpp) against an OpenSSL client over memory buffers: what
// the TLS steps put on the wire is what a proxy's TLS stack reads.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "tls/certs.hpp"
#include "tls/engine.hpp"

using namespace upfault;

namespace {

// A client session (no certificate verification: only the records matter here).
struct Client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  explicit Client(int max_version) {
    SSL_CTX_set_max_proto_version(ctx, max_version);
    ssl = SSL_new(ctx);
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  std::string output() {
    std::string s;
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    if (n > 0) s.assign(data, static_cast<std::size_t>(n));
    (void)BIO_reset(out);
    return s;
  }
  void feed(const std::string& raw) { BIO_write(in, raw.data(), static_cast<int>(raw.size())); }
};

// Runs the handshake between the two; true when both are done.
bool handshake(Client& c, tls::Engine& server) {
  for (int i = 0; i < 10; ++i) {
    const int rc = SSL_do_handshake(c.ssl);
    if (!server.feed(c.output())) return false;
    const auto progress = server.handshake();
    c.feed(server.output());
    if (rc == 1 && progress == tls::Engine::Progress::done) return true;
    if (progress == tls::Engine::Progress::failed) return false;
  }
  return false;
}

// What the client reads: the plaintext, and the error that ended it ("" when it wants more).
std::pair<std::string, std::string> read_all(Client& c) {
  std::string plain;
  char buf[4096];
  while (true) {
    const int n = SSL_read(c.ssl, buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (SSL_get_error(c.ssl, n) != SSL_ERROR_SSL) return {plain, ""};
    char reason[256];
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    ERR_clear_error();
    return {plain, reason};
  }
}

class FatalAlert : public ::testing::TestWithParam<int> {};

}  // namespace

// The body's first part arrives, then the client's session fails on the upstream's fatal alert
// (bad_record_mac), whatever the version; the session sends nothing after it.
TEST_P(FatalAlert, ArrivesAfterTheDataAndEndsTheSession) {
  auto ctx = tls::server_context(tls::Leaf::valid, "http/1.1");
  ASSERT_TRUE(ctx) << ctx.error().message;
  auto made = tls::Engine::make(ctx->get());
  ASSERT_TRUE(made) << made.error();
  tls::Engine& server = **made;
  Client client(GetParam());
  ASSERT_TRUE(handshake(client, server));
  ASSERT_TRUE(server.encrypt("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789"));
  ASSERT_TRUE(server.fatal_alert());
  const auto raw = server.output();
  // The last record is the alert, protected: in TLS 1.3 an application-data record on the wire
  // (its true type inside the encryption), in TLS 1.2 an alert record longer than its 2 plain bytes.
  std::size_t at = 0, last = 0;
  while (at + 5 <= raw.size()) {
    last = at;
    at += 5 + ((static_cast<std::size_t>(static_cast<unsigned char>(raw[at + 3])) << 8) |
               static_cast<unsigned char>(raw[at + 4]));
  }
  ASSERT_EQ(at, raw.size());
  const auto type = static_cast<unsigned char>(raw[last]);
  const auto length = raw.size() - last - 5;
  EXPECT_EQ(type, GetParam() == TLS1_3_VERSION ? 0x17 : 0x15);
  EXPECT_GT(length, 2u) << "the alert went in plaintext";
  client.feed(raw);
  auto [plain, error] = read_all(client);
  EXPECT_EQ(plain, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789");
  EXPECT_NE(error.find("alert bad record mac"), std::string::npos) << error;
  EXPECT_FALSE(server.encrypt("more")) << "the session goes on after its fatal alert";
  EXPECT_FALSE(server.fatal_alert()) << "a second alert from a session already over";
}

INSTANTIATE_TEST_SUITE_P(TlsVersions, FatalAlert, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return std::string(p.param == TLS1_3_VERSION ? "tls13" : "tls12");
                         });

namespace {

// Moves what each engine output to the other until both handshakes are done (true) or one failed.
bool handshake(tls::Engine& client, tls::Engine& server) {
  auto c = tls::Engine::Progress::more, s = tls::Engine::Progress::more;
  for (int i = 0; i < 10 && (c != tls::Engine::Progress::done || s != tls::Engine::Progress::done); ++i) {
    c = client.handshake();
    if (!server.feed(client.output())) return false;
    s = server.handshake();
    if (!client.feed(server.output())) return false;
    if (c == tls::Engine::Progress::failed || s == tls::Engine::Progress::failed) return false;
  }
  return c == tls::Engine::Progress::done && s == tls::Engine::Progress::done;
}

// A client context that offers `alpn` and verifies nothing (only the records matter here).
tls::CtxPtr client_context(const unsigned char* alpn, unsigned len) {
  tls::CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (alpn) SSL_CTX_set_alpn_protos(ctx.get(), alpn, len);
  return ctx;
}

}  // namespace

// A client engine and a server engine talk over memory alone: the handshake with ALPN, a request
// and its response each way, and the server's close_notify read as the end of the session.
TEST(TlsEngine, AClientAndAServerEngineTalkOverMemory) {
  auto server_ctx = tls::server_context(tls::Leaf::valid, "http/1.1");
  ASSERT_TRUE(server_ctx) << server_ctx.error();
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  auto client_ctx = client_context(kAlpn, sizeof kAlpn);
  auto server = tls::Engine::make(server_ctx->get());
  auto client = tls::Engine::make(client_ctx.get(), tls::Engine::Role::client);
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(handshake(**client, **server)) << (*client)->error() << " / " << (*server)->error();
  EXPECT_EQ((*server)->alpn(), "http/1.1");
  EXPECT_EQ((*client)->alpn(), "http/1.1");

  ASSERT_TRUE((*client)->encrypt("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE((*server)->feed((*client)->output()));
  std::string request;
  EXPECT_EQ((*server)->decrypt(request, 1 << 20), tls::Engine::Read::ok);
  EXPECT_EQ(request, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

  ASSERT_TRUE((*server)->encrypt("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  (*server)->close_notify();
  ASSERT_TRUE((*client)->feed((*server)->output()));
  std::string response;
  EXPECT_EQ((*client)->decrypt(response, 1 << 20), tls::Engine::Read::closed);
  EXPECT_EQ(response, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ((*client)->error(), "") << "a clean close is not a failure";
}

// An error some earlier OpenSSL call left on the thread's queue is not the session's: a read that
// only wants more input says so (SSL_get_error reads the queue, so without clearing it first a
// stale error turns "wants more" into "failed"), and error() stays empty.
TEST(TlsEngine, AStaleErrorOnTheThreadIsNotTheSessionsFailure) {
  auto server_ctx = tls::server_context(tls::Leaf::valid, "http/1.1");
  ASSERT_TRUE(server_ctx) << server_ctx.error();
  auto client_ctx = client_context(nullptr, 0);
  auto server = tls::Engine::make(server_ctx->get());
  auto client = tls::Engine::make(client_ctx.get(), tls::Engine::Role::client);
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(handshake(**client, **server)) << (*client)->error() << " / " << (*server)->error();
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);  // left behind by someone else's call on this thread
  std::string nothing;
  EXPECT_EQ((*server)->decrypt(nothing, 1024), tls::Engine::Read::ok) << (*server)->error();
  EXPECT_EQ((*server)->error(), "");
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
  EXPECT_TRUE((*server)->encrypt("still fine")) << (*server)->error();
  ERR_clear_error();
}

// A session's failure says OpenSSL's reason: an HTTP request on a TLS port fails the handshake.
TEST(TlsEngine, AFailureSaysWhy) {
  auto server_ctx = tls::server_context(tls::Leaf::valid, "http/1.1");
  ASSERT_TRUE(server_ctx) << server_ctx.error();
  auto server = tls::Engine::make(server_ctx->get());
  ASSERT_TRUE(server);
  ASSERT_TRUE((*server)->feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ((*server)->handshake(), tls::Engine::Progress::failed);
  EXPECT_NE((*server)->error().find("http request"), std::string::npos) << (*server)->error();
}
