// Which TLS ports of the fake upstream resume sessions. Under load (upfault serve, bench:
// Options::tls_resumption) the valid-certificate ports do, as a production origin does, so a proxy
// that opens a connection per request is not measured by full handshakes it would not pay against
// a real origin; in a run they do not (the verdicts' conditions). The certificate ports never do:
// each connection shows its certificate in a full handshake, as a certificate verdict needs. An
// OpenSSL client over loopback, offering the session of its previous connection.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "support.hpp"
#include "upfault/upstream.hpp"

using namespace upfault;

namespace {

// A scenario over TLS that answers 200 "ok", on `endpoint`'s port.
Scenario answering(const std::string& name, Endpoint endpoint) {
  auto s = test::scenario(test::with_steps(name,
                                           "[upstream]\nprotocol = \"https\"\n[[upstream.steps]]\nread = \"request\"\n"
                                           "[[upstream.steps]]\nresponse = { status = 200, body = \"ok\" }\n"));
  s.endpoint = endpoint;
  return s;
}

struct Sessions {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  explicit Sessions(int version) {
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  }
  ~Sessions() { SSL_CTX_free(ctx); }
};

struct Outcome {
  bool served = false;             // the response arrived
  bool resumed = false;            // the handshake resumed `offered`
  SSL_SESSION* session = nullptr;  // this connection's session, for the next (owned by the caller)
};

// One connection to `port`: the handshake (offering `offered`, if any), one request for `name`,
// its response read to the end.
Outcome connect_once(Sessions& s, std::uint16_t port, const std::string& name, SSL_SESSION* offered) {
  Outcome out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  SSL* ssl = SSL_new(s.ctx);
  SSL_set_fd(ssl, fd);
  if (offered) SSL_set_session(ssl, offered);
  if (SSL_connect(ssl) == 1) {
    out.resumed = SSL_session_reused(ssl) == 1;
    const std::string request = "GET " + route_prefix(name) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    std::string got;
    char buf[4096];
    for (int n; !got.ends_with("\r\n\r\nok") && (n = SSL_read(ssl, buf, sizeof buf)) > 0;)
      got.append(buf, static_cast<std::size_t>(n));
    out.served = got.starts_with("HTTP/1.1 200") && got.ends_with("\r\n\r\nok");
    out.session = SSL_get1_session(ssl);  // read after the response: a TLS 1.3 ticket has arrived
    SSL_shutdown(ssl);                    // a session ended without close_notify is not offered again (as a proxy's)
  }
  SSL_free(ssl);
  ::close(fd);
  return out;
}

struct Case {
  int version;
  bool resumption;  // FakeUpstream::Options::tls_resumption (serve and bench: on; runs: off)
};

class Resumption : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Resumption, OnTheValidCertificatePortUnderLoadNeverOnACertificatePort) {
  FakeUpstream::Options o;
  o.tls_resumption = GetParam().resumption;
  auto up = FakeUpstream::open(o).value();
  up->add(answering("on-tls", Endpoint::scripted));
  up->add(answering("on-expired", Endpoint::tls_expired));
  up->start();
  const auto ports = up->ports();
  Sessions client(GetParam().version);

  auto first = connect_once(client, ports.tls, "on-tls", nullptr);
  ASSERT_TRUE(first.served);
  EXPECT_FALSE(first.resumed);
  auto second = connect_once(client, ports.tls, "on-tls", first.session);
  EXPECT_TRUE(second.served);
  EXPECT_EQ(second.resumed, GetParam().resumption)
      << (GetParam().resumption ? "the valid-certificate port made a full handshake where a session could resume"
                                : "a run's valid-certificate port resumed a session (runs make full handshakes)");

  // A certificate port: its own earlier session, or the valid port's, is never resumed.
  auto expired = connect_once(client, ports.tls_expired, "on-expired", nullptr);
  ASSERT_TRUE(expired.served);
  for (SSL_SESSION* offered : {expired.session, second.session}) {
    auto again = connect_once(client, ports.tls_expired, "on-expired", offered);
    EXPECT_TRUE(again.served);
    EXPECT_FALSE(again.resumed) << "a certificate port resumed a session: its certificate was not shown";
    SSL_SESSION_free(again.session);
  }
  for (SSL_SESSION* s : {first.session, second.session, expired.session}) SSL_SESSION_free(s);
}

INSTANTIATE_TEST_SUITE_P(TlsVersions, Resumption,
                         ::testing::Values(Case{TLS1_2_VERSION, true}, Case{TLS1_3_VERSION, true},
                                           Case{TLS1_2_VERSION, false}, Case{TLS1_3_VERSION, false}),
                         [](const auto& p) {
                           return std::string(p.param.version == TLS1_2_VERSION ? "TLS12" : "TLS13") +
                                  (p.param.resumption ? "_Load" : "_Run");
                         });
