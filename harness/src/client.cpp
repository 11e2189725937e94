#include "upfault/client.hpp"

#include <fmt/format.h>

#include "client_async.hpp"
#include "upfault/http.hpp"
#include "util.hpp"

namespace upfault {

using namespace net;

namespace {
// What a result keeps of the raw bytes, whatever a proxy sends: memory grows with --jobs, not
// with the suite or the proxy's output.
constexpr std::size_t kRawCap = 64 * 1024;
}  // namespace

std::string render_request(const Request& request, const std::string& path_prefix, const std::vector<Header>& extra,
                           const std::string& host) {
  std::string out = fmt::format("{} {}{} HTTP/1.1\r\n", request.method, path_prefix, request.path);
  bool has_host = false, has_length = false, has_connection = false;
  for (const auto& [name, value] : request.headers) {
    has_host |= iequals(name, "host");
    has_length |= iequals(name, "content-length") || iequals(name, "transfer-encoding");
    has_connection |= iequals(name, "connection");
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (!has_host) out += fmt::format("Host: {}\r\n", host);
  if (!has_length && !request.body.empty()) out += fmt::format("Content-Length: {}\r\n", request.body.size());
  if (!has_connection) out += "Connection: close\r\n";
  for (const auto& [name, value] : extra) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  out += request.body;
  return out;
}

std::size_t header_limit_for(const Scenario& s) {
  std::size_t sent = 0;
  for (const auto& step : s.steps)
    if (const auto* bytes = step.action->sends()) sent += bytes->size();
  return std::max(kMinHeaderLimit, sent + (64 << 10));
}

namespace {

// How the exchange ended when a read failed with `ec`.
void ended_by(const error_code& ec, ResponseReader& reader, ClientResult& result) {
  if (ec == asio::error::eof) {
    result.ending = reader.eof() == ResponseReader::State::complete ? Ending::complete : Ending::closed_early;
    if (result.ending != Ending::complete) result.error = reader.error();
  } else if (is_reset(ec)) {
    result.ending = Ending::reset;
    result.error = ec.message();
  } else if (ec == beast::error::timeout) {
    result.ending = Ending::timed_out;
  } else {
    result.ending = Ending::closed_early;
    result.error = ec.message();
  }
}

// Beast unfolds obs-fold silently; a proxy must never send it (RFC 9112 §5.2), so look at the bytes.
void reject_obs_fold(ClientResult& result) {
  const auto header = std::string_view(result.raw).substr(0, head_end(result.raw));
  if (header.find("\r\n ") != std::string_view::npos || header.find("\r\n\t") != std::string_view::npos) {
    result.ending = Ending::invalid;
    result.error = "obs-fold (a field line continued on the next line) in the proxy's response header";
  }
}

}  // namespace

awaitable<ClientResult> fetch_async(FetchOptions options, std::string wire, bool head_request) {
  ClientResult result;
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  const auto deadline = Clock::now() + options.deadline;
  stream.expires_at(deadline);

  tcp::endpoint ep;
  try {
    ep = endpoint(options.host, options.port);
  } catch (const std::exception& e) {
    result.ending = Ending::connect_failed;
    result.error = fmt::format("bad address \"{}\": {}", options.host, e.what());
    co_return result;
  }
  if (auto [ec] = co_await stream.async_connect(ep, use_tuple); ec) {
    // A peer that accepts and resets at once can have its RST land before the connect's
    // result is read: that peer was reached, and it reset the connection.
    result.ending = is_reset(ec) ? Ending::reset : Ending::connect_failed;
    result.error = fmt::format("cannot connect to {}:{}: {}", options.host, options.port, ec.message());
    co_return result;
  }
  error_code opt_ec;
  stream.socket().set_option(tcp::no_delay(true), opt_ec);

  const auto t0 = Clock::now();
  auto since = [t0] { return std::chrono::duration_cast<Millis>(Clock::now() - t0); };
  // A proxy may answer (and close) before it has read the whole request: a failed write is
  // not the end of the story, so we go on reading what it sent.
  auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
  (void)written;

  ResponseReader reader(head_request, kBodyKeep, options.header_limit);
  char buf[16 * 1024];
  while (true) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0) {
      if (!result.first_byte) result.first_byte = since();
      result.raw_total += n;
      if (result.raw.size() < kRawCap) result.raw.append(buf, std::min(n, kRawCap - result.raw.size()));
      auto state = reader.feed({buf, n});
      if (state == ResponseReader::State::complete) {
        result.ending = Ending::complete;
        break;
      }
      if (state == ResponseReader::State::error) {
        result.ending = Ending::invalid;
        result.error = reader.error();
        break;
      }
    }
    if (!ec) {
      // A proxy that never stops sending keeps every read ready at once: the deadline is checked
      // here too, not left to the stream's timer alone (under a flood it fired minutes late).
      if (Clock::now() < deadline) continue;
      result.ending = Ending::timed_out;
      break;
    }
    ended_by(ec, reader, result);
    break;
  }
  if (write_ec && result.ending == Ending::closed_early && result.raw_total == 0) {
    // An RST that arrives before our write is reported to the write, and the read after it then
    // sees EOF: it was still a reset.
    if (is_reset(write_ec)) result.ending = Ending::reset;
    result.error = fmt::format("the request could not be sent: {}", write_ec.message());
  }
  result.elapsed = since();
  if (reader.header_done() && result.ending == Ending::complete) reject_obs_fold(result);
  reader.record(result);
  error_code ignored;
  stream.socket().close(ignored);
  co_return result;
}

ClientResult fetch(const FetchOptions& options, const std::string& wire, bool head_request) {
  asio::io_context ioc;
  ClientResult out;
  asio::co_spawn(ioc, fetch_async(options, wire, head_request), [&out](std::exception_ptr e, ClientResult r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  ioc.run();
  return out;
}

}  // namespace upfault
