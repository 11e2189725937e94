// Pre-flight's upstream side: while it lasts every endpoint serves the scenario a request names,
// and once it ends each does its fault again — the refused port refuses, the blackhole's connects
// never complete, accept-close closes before reading.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "support.hpp"
#include "upfault/client.hpp"

using namespace upfault;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A scenario that answers 200 "here", routed to `endpoint`'s port.
Scenario answering_on(std::string name, Endpoint endpoint) {
  auto s = test::scenario(test::with_steps(
      name,
      "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nresponse = { status = 200, body = \"here\" }\n"));
  s.endpoint = endpoint;
  return s;
}

ClientResult fetch_at(std::uint16_t port, const Scenario& s, Millis deadline = Millis{5000}) {
  FetchOptions fo;
  fo.port = port;
  fo.deadline = deadline;
  return fetch(fo, render_request(s.request, route_prefix(s.name), {}, "127.0.0.1"));
}

}  // namespace

TEST(Preflight, EveryEndpointServesUntilItEndsThenDoesItsFault) {
  FakeUpstream::Options o;
  o.preflight = true;
  FakeUpstream up(o);
  const auto refused = answering_on("on-refused", Endpoint::refused);
  const auto blackhole = answering_on("on-blackhole", Endpoint::blackhole);
  const auto close = answering_on("on-accept-close", Endpoint::accept_close);
  for (const auto* s : {&refused, &blackhole, &close}) up.add(*s);
  up.start();
  const auto ports = up.ports();

  for (auto [port, s] :
       {std::pair{ports.refused, &refused}, {ports.blackhole, &blackhole}, {ports.accept_close, &close}}) {
    const auto got = fetch_at(port, *s);
    ASSERT_EQ(got.ending, Ending::complete) << s->name << ": " << got.error;
    EXPECT_EQ(got.response->body, "here") << s->name;
    const auto log = up.log(s->name);
    ASSERT_EQ(log.connections.size(), 1u) << s->name;
    EXPECT_EQ(log.connections[0].port, to_string(s->endpoint)) << "the log names the port it came in on";
  }

  ASSERT_TRUE(up.end_preflight());
  EXPECT_EQ(up.refused_port(), ports.refused) << "the refused port is held again, not given up";
  asio::io_context ioc;
  tcp::socket sock(ioc);
  boost::system::error_code ec;
  sock.connect({asio::ip::make_address("127.0.0.1"), ports.refused}, ec);
  EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
  // The blackhole's queue is full again: a connect does not complete (bounded by the deadline).
  EXPECT_EQ(fetch_at(ports.blackhole, blackhole, Millis{300}).ending, Ending::connect_failed);
  // accept-close closes before reading: no response, and the scenario's log gets nothing more.
  EXPECT_NE(fetch_at(ports.accept_close, close).ending, Ending::complete);
  EXPECT_EQ(up.log(close.name).connections.size(), 1u);
}

// The refused port is never given up, not even for a moment: it stops listening where it is bound.
// A connection accepted there during pre-flight and still open when pre-flight ends is served on
// (as the proxy's kept-alive probe connection would be), and no other socket can take the port —
// not one with SO_REUSEADDR either. (Closing the listener and binding the port again failed with
// "Address already in use" whenever a connection on the port was still open, or the kernel had
// meanwhile given the free port number to someone's outgoing connect.)
TEST(Preflight, RefusedPortIsHeldThroughTheEndOfPreflight) {
  FakeUpstream::Options o;
  o.preflight = true;
  FakeUpstream up(o);
  up.add(answering_on("on-refused", Endpoint::refused));
  up.start();
  const auto port = up.refused_port();
  asio::io_context ioc;
  tcp::socket open(ioc);
  open.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string request = "GET " + route_prefix("on-refused") + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto answered = [&] {  // one request on `open`, its response read to the body
    asio::write(open, asio::buffer(request));
    asio::streambuf got;
    asio::read_until(open, got, "here");
    return std::string(asio::buffers_begin(got.data()), asio::buffers_end(got.data()));
  };
  EXPECT_NE(answered().find("200"), std::string::npos);

  ASSERT_TRUE(up.end_preflight());
  EXPECT_EQ(up.refused_port(), port);
  boost::system::error_code ec;
  tcp::socket late(ioc);
  late.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
  tcp::acceptor other(ioc);
  other.open(tcp::v4());
  other.set_option(tcp::acceptor::reuse_address(true));
  other.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_EQ(ec, asio::error::address_in_use) << "another socket bound the refused port: " << ec.message();
  EXPECT_NE(answered().find("200"), std::string::npos) << "the connection open across the end is served on";
}
