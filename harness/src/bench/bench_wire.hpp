#pragma once
// How the load generator reads a response (counting, keeping nothing) and names what went wrong.
#include <boost/beast/http.hpp>

#include "io/net.hpp"
#include "upfault/bench.hpp"

namespace upfault::bench_wire {

using namespace net;
namespace http = beast::http;

// A response parser that keeps nothing but the status code: no allocation per message.
class CountingParser : public http::basic_parser<false> {
 public:
  CountingParser() {
    body_limit(boost::none);
    header_limit(64 * 1024);
    eager(true);
  }
  int status = 0;

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status = code; }
  void on_field_impl(http::field, beast::string_view, beast::string_view, error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override { return body.size(); }
  void on_finish_impl(error_code&) override {}
};

inline BenchError classify(const error_code& ec, bool timed_out, bool connecting, bool header_done) {
  if (timed_out) return connecting ? BenchError::connect_timeout : BenchError::timeout;
  if (ec == asio::error::connection_refused) return BenchError::connect_refused;
  if (is_reset(ec) || ec == asio::error::broken_pipe) return BenchError::reset;
  if (ec == http::error::end_of_stream || ec == asio::error::eof) return BenchError::closed_before_header;
  if (ec == http::error::partial_message)
    return header_done ? BenchError::closed_mid_body : BenchError::closed_before_header;
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) return BenchError::parse_error;
  if (ec == http::error::buffer_overflow) return BenchError::parse_error;
  return BenchError::other;
}

}  // namespace upfault::bench_wire
