#pragma once
// A scripted raw HTTP/1.1 client for tests, after VTest's client: each line of a test says what
// is sent or what must arrive next — txreq, rxresp, expect_eof, expect_reset — so a test reads as
// the exchange it checks. Blocking, loopback only; a failed expectation fails the test.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "upfault/http.hpp"

namespace upfault::test {

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : sock_(ioc_) {
    sock_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }

  /// Sends `GET target HTTP/1.1` with a Host field and `headers`.
  RawClient& txreq(const std::string& target, const std::vector<Header>& headers = {}) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: upfault.test\r\n";
    for (const auto& [n, v] : headers) req += n + ": " + v + "\r\n";
    return tx(req + "\r\n");
  }
  /// Sends bytes as they are.
  RawClient& tx(const std::string& bytes) {
    boost::asio::write(sock_, boost::asio::buffer(bytes));
    return *this;
  }

  /// Reads one whole response; an empty one when the connection ended first or the bytes were not
  /// a response (the test fails, saying which). One response at a time: no pipelining.
  ResponseImage rxresp() {
    ResponseReader reader;
    while (true) {
      if (!pending_.empty()) {
        auto state = reader.feed(pending_);
        pending_.clear();
        if (state == ResponseReader::State::complete) return reader.response();
        if (state == ResponseReader::State::error) {
          ADD_FAILURE() << "rxresp: not a valid response: " << reader.error();
          return {};
        }
      }
      char buf[16 * 1024];
      boost::system::error_code ec;
      const auto n = sock_.read_some(boost::asio::buffer(buf), ec);
      if (ec) {
        if (reader.eof() == ResponseReader::State::complete) return reader.response();
        ADD_FAILURE() << "rxresp: the connection ended before a complete response (" << ec.message() << ")";
        return {};
      }
      pending_.assign(buf, n);
    }
  }

  /// The peer closes the connection (FIN) with nothing more to read.
  RawClient& expect_eof() { return expect_end(boost::asio::error::eof, "EOF"); }
  /// The peer resets the connection.
  RawClient& expect_reset() { return expect_end(boost::asio::error::connection_reset, "a reset"); }

 private:
  RawClient& expect_end(const boost::system::error_code& want, const char* what) {
    char buf[4096];
    boost::system::error_code ec;
    const auto n = sock_.read_some(boost::asio::buffer(buf), ec);
    EXPECT_EQ(ec, want) << "wanted " << what << ", got " << n << " bytes: " << std::string(buf, n);
    return *this;
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket sock_;
  std::string pending_;
};

}  // namespace upfault::test
