#include "upfault/client.hpp"

#include <fmt/format.h>

#include "base/util.hpp"
#include "client/client_async.hpp"
#include "upfault/http.hpp"

namespace upfault {

using namespace net;

namespace {
// What a result keeps of the raw bytes, whatever a proxy sends: memory grows with --jobs, not
// with the suite or the proxy's output.
constexpr std::size_t kRawCap = 64 * 1024;
}  // namespace

std::string render_request(const Request& request, const std::string& path_prefix, const std::vector<Header>& extra,
                           const std::string& host, bool close) {
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
  if (!has_connection && close) out += "Connection: close\r\n";
  for (const auto& [name, value] : extra) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  out += request.body;
  return out;
}

std::vector<std::string> render_requests(const Request& request, const std::string& path_prefix,
                                         const std::vector<Header>& extra, const std::string& host, bool close_last) {
  std::vector<std::string> out;
  const bool shared = request.connections != ClientConnections::separate;
  for (int k = 1; k <= request.repeat; ++k)
    out.push_back(render_request(request, path_prefix, extra, host, k == request.repeat ? close_last : !shared));
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

// One client connection to the proxy, and the bytes read past the last response on it.
struct Line {
  explicit Line(const asio::any_io_executor& ex) : stream(ex) {}
  beast::tcp_stream stream;
  std::string carry;                         // bytes read past the previous response: the start of the next one
  int served = 0;                            // complete responses read on it
  bool closing = false;                      // the proxy said Connection: close, or closed it: send nothing more on it
  bool ended = false;                        // a read saw the proxy close or reset it
  error_code write_ec;                       // the last write's error (a proxy may answer before reading it all)
  Clock::time_point sent_at = Clock::now();  // when the last write began
};

// Connects `line`; false (with the result's ending and error set) when the proxy cannot be reached.
awaitable<bool> connect(Line& line, const FetchOptions& options, ClientResult& result) {
  tcp::endpoint ep;
  try {
    ep = endpoint(options.host, options.port);
  } catch (const std::exception& e) {
    result.ending = Ending::connect_failed;
    result.error = fmt::format("bad address \"{}\": {}", options.host, e.what());
    co_return false;
  }
  line.stream.expires_after(options.deadline);
  if (auto [ec] = co_await line.stream.async_connect(ep, use_tuple); ec) {
    // A peer that accepts and resets at once can have its RST land before the connect's
    // result is read: that peer was reached, and it reset the connection.
    result.ending = is_reset(ec) ? Ending::reset : Ending::connect_failed;
    result.error = fmt::format("cannot connect to {}:{}: {}", options.host, options.port, ec.message());
    co_return false;
  }
  error_code opt_ec;
  line.stream.socket().set_option(tcp::no_delay(true), opt_ec);
  co_return true;
}

// Appends to a bounded copy of bytes received (what a result keeps whatever a proxy sends).
void keep(std::string& kept, std::size_t& total, std::string_view bytes) {
  total += bytes.size();
  if (kept.size() < kRawCap) kept.append(bytes.substr(0, kRawCap - kept.size()));
}

// Reads one response on `line` (starting with the bytes carried over from the previous one) until
// it is complete, the proxy closes or resets, or `deadline`. Bytes past its end stay in line.carry.
awaitable<void> receive(Line& line, ResponseReader& reader, ClientResult& result, Clock::time_point deadline) {
  const auto t0 = line.sent_at;  // times count from the start of the write that carried the request
  auto since = [t0] { return std::chrono::duration_cast<Millis>(Clock::now() - t0); };
  line.stream.expires_at(deadline);
  auto take = [&](std::string_view bytes) {
    if (!result.first_byte) result.first_byte = since();
    keep(result.raw, result.raw_total, bytes);
    const auto state = reader.feed(bytes);
    if (state == ResponseReader::State::complete) result.ending = Ending::complete;
    if (state == ResponseReader::State::error) result.ending = Ending::invalid, result.error = reader.error();
    return state != ResponseReader::State::need_more;
  };
  bool done = !line.carry.empty() && take(std::exchange(line.carry, {}));
  char buf[16 * 1024];
  while (!done) {
    auto [ec, n] = co_await line.stream.async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0 && take({buf, n})) break;
    if (!ec) {
      // A proxy that never stops sending keeps every read ready at once: the deadline is checked
      // here too, not left to the stream's timer alone (under a flood it fired minutes late).
      if (Clock::now() < deadline) continue;
      result.ending = Ending::timed_out;
      break;
    }
    ended_by(ec, reader, result);
    line.closing = line.ended = true;
    done = true;
  }
  if (result.ending == Ending::complete) line.carry = reader.take_leftover();
  if (line.write_ec && result.ending == Ending::closed_early && result.raw_total == 0) {
    // An RST that arrives before our write is reported to the write, and the read after it then
    // sees EOF: it was still a reset.
    if (is_reset(line.write_ec)) result.ending = Ending::reset;
    result.error = fmt::format("the request could not be sent: {}", line.write_ec.message());
  }
  result.elapsed = since();
  if (reader.header_done() && result.ending == Ending::complete) reject_obs_fold(result);
  reader.record(result);
}

// After the last response: what the proxy sends until it closes (or the deadline).
awaitable<void> read_after(Line& line, ClientResult& result, Clock::time_point deadline) {
  line.stream.expires_at(deadline);
  char buf[16 * 1024];
  while (Clock::now() < deadline) {
    auto [ec, n] = co_await line.stream.async_read_some(asio::buffer(buf), use_tuple);
    keep(result.after, result.after_total, {buf, n});
    if (ec) {
      result.closed_after = ec != beast::error::timeout;
      break;
    }
  }
}

// The keep-alive probe: the next request on a connection the proxy kept open, and what answered it.
awaitable<void> send_probe(Line& line, const FetchOptions& options, ClientResult& last) {
  if (options.before_probe) options.before_probe();
  ClientResult p;
  line.sent_at = Clock::now();
  auto [ec, written] = co_await asio::async_write(line.stream, asio::buffer(options.probe_wire), use_tuple);
  (void)written;
  line.write_ec = ec;
  ResponseReader reader(false, kBodyKeep, kMinHeaderLimit);
  co_await receive(line, reader, p, Clock::now() + options.deadline);
  last.probe.push_back(std::move(p));
}

// The response says the proxy will close the connection (RFC 9112 §9.6).
bool says_close(const ClientResult& r) { return r.response && upfault::says_close(r.response->headers); }

}  // namespace

awaitable<ClientResult> converse_async(FetchOptions options, std::vector<std::string> wires, ClientConnections mode,
                                       bool head_request) {
  const std::size_t n = wires.size();
  auto ex = co_await asio::this_coro::executor;
  std::unique_ptr<Line> line;
  std::vector<ClientResult> results;
  int connections = 0;
  std::size_t sent = 0;
  bool retried = false;
  for (std::size_t k = 0; k < n;) {
    ClientResult r;
    r.request = static_cast<int>(k) + 1;
    r.requests = static_cast<int>(n);
    if (!line || line->closing || mode == ClientConnections::separate) {
      line = std::make_unique<Line>(ex);
      ++connections;
      sent = k;
      if (const bool up = co_await connect(*line, options, r); !up) {
        line->closing = true;
        results.push_back(std::move(r));
        ++k;
        continue;
      }
    }
    if (sent == k) {  // write what this connection has not been sent yet
      std::string wire = wires[k];
      if (mode == ClientConnections::pipelined)
        for (auto j = k + 1; j < n; ++j) wire += wires[j];
      sent = mode == ClientConnections::pipelined ? n : k + 1;
      line->sent_at = Clock::now();
      auto [ec, written] = co_await asio::async_write(line->stream, asio::buffer(wire), use_tuple);
      (void)written;
      line->write_ec = ec;
    }
    ResponseReader reader(head_request, kBodyKeep, options.header_limit);
    co_await receive(*line, reader, r, Clock::now() + options.deadline);
    // A persistent connection the proxy closed without a byte of the next response: a client
    // sends the request again on a new connection (RFC 9112 §9.3.1), once.
    const bool dropped = r.raw_total == 0 && (r.ending == Ending::closed_early || r.ending == Ending::reset);
    if (dropped && line->served > 0 && !retried) {
      retried = true;
      line->closing = true;
      continue;
    }
    retried = false;
    ++line->served;
    if (r.ending != Ending::complete) {
      line->closing = true;  // what is left of this connection cannot be read as a response
    } else {
      // On a keep-alive connection the next request is not sent yet: bytes already past this
      // response came unasked (they are still read as the next response, as a client would).
      if (mode == ClientConnections::keep_alive && k + 1 < n) keep(r.after, r.after_total, line->carry);
      line->closing = line->closing || says_close(r);
    }
    results.push_back(std::move(r));
    ++k;
  }
  ClientResult last = std::move(results.back());
  results.pop_back();
  if (last.ending == Ending::complete) {
    const bool probe = !options.probe_wire.empty() && !options.read_after && !line->closing;
    // Bytes past the response are kept; before a probe they stay, read as its response's start.
    keep(last.after, last.after_total, probe ? line->carry : std::exchange(line->carry, {}));
    // Read on even after Connection: close: a proxy may still send bytes before it closes.
    last.closed_after = line->ended;
    if (options.read_after && !line->ended) co_await read_after(*line, last, Clock::now() + options.deadline);
    if (probe) co_await send_probe(*line, options, last);
  }
  last.earlier = std::move(results);
  last.connections = connections;
  error_code ignored;
  line->stream.socket().close(ignored);
  co_return last;
}

ClientResult fetch(const FetchOptions& options, const std::string& wire, bool head_request) {
  return converse(options, std::vector<std::string>{wire}, ClientConnections::separate, head_request);
}

ClientResult converse(const FetchOptions& options, const std::vector<std::string>& wires, ClientConnections mode,
                      bool head_request) {
  asio::io_context ioc;
  ClientResult out;
  asio::co_spawn(ioc, converse_async(options, wires, mode, head_request), [&out](std::exception_ptr e, ClientResult r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  ioc.run();
  return out;
}

}  // namespace upfault
