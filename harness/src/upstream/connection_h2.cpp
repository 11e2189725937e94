// The connection's side of HTTP/2 (see connection.hpp): what the HTTP/2 server (upstream/h2_session.hpp)
// calls to route a request and to read, the answer to a request over the wrong protocol, and hang.
#include <fmt/format.h>

#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "base/util.hpp"
#include "upfault/http.hpp"
#include "upstream/connection.hpp"
#include "upstream/h2_session.hpp"

namespace upfault::upstream {

using namespace net;
using namespace boost::asio::experimental::awaitable_operators;

// An HTTP/2 scenario's request came over HTTP/1.1, or the other way round: the proxy's
// configuration routes the protocol's prefix to the wrong place. Logged for the judge.
awaitable<bool> Connection::reply_wrong_protocol(std::string_view target) {
  const auto want = route_->scenario->protocol;
  const auto text = fmt::format(
      "protocol: the request ({}) reached the upstream over {}, but the scenario's upstream protocol is {}: the "
      "proxy's configuration must route {} to the upstream speaking {}",
      printable(target, 200), h2_ ? "HTTP/2" : "HTTP/1.1", to_string(want),
      want == UpstreamProtocol::http1 ? std::string("requests without a protocol prefix")
                                      : fmt::format("{}/", protocol_prefix(want)),
      to_string(want));
  if (up_.options.keep_logs) {
    int ignored = 0;
    index_ = open_entry(*route_, arrival(false), h2_ ? std::string_view{} : std::string_view(pending_),
                        ConnectionEnd::misrouted, text, ignored);
  }
  co_await reply_setup_error("421 Misdirected Request", fmt::format("upfault: {}\n", text));
  co_return false;
}

awaitable<bool> Connection::start_h2_request(std::string head) {
  std::string rest = std::exchange(pending_, std::move(head));
  const bool ok = co_await start_request(pending_.size());
  pending_ = std::move(rest);
  co_return ok;
}

awaitable<bool> Connection::read_input() {
  if (auto ec = co_await read_more()) {
    finish(describe(ec));
    co_return false;
  }
  co_return true;
}

// hang: on HTTP/2 the session reads the proxy's frames (upstream/h2_session.hpp); else read and discard.
awaitable<void> Connection::hang(std::optional<Millis> duration) {
  if (h2_) co_return co_await h2_->hang(*this, duration);
  pending_.clear();
  if (!duration) {
    finish(describe(co_await discard_until_closed()));
    co_return;
  }
  auto ended = co_await (discard_until_closed() || sleep_until(Clock::now() + *duration));
  if (ended.index() == 0) {
    finish(describe(std::get<0>(ended)));
    co_return;
  }
  co_await close_fin();  // our hang ended: close gracefully
}

void Connection::fail(std::string text) { finish({ConnectionEnd::error, std::move(text)}); }

void Connection::protocol_error(std::string text) { finish({ConnectionEnd::protocol_error, std::move(text)}); }

void Connection::log_refused_h2_request(std::string_view head) {
  auto route = up_.find(scenario_key(parse_head(head)));
  if (!route) {
    up_.note_unrouted();
    return;
  }
  route_ = std::move(*route);
  if (up_.options.keep_logs)
    index_ = open_entry(*route_, arrival(false), head, ConnectionEnd::open, "", request_index_);
}

bool Connection::scenario_has_step(std::string_view kind) const {
  if (!route_) return false;
  const auto& steps = route_->scenario->steps;
  return std::any_of(steps.begin(), steps.end(), [&](const auto& s) { return s.action && s.action->kind() == kind; });
}

void Connection::note_refused_stream(std::string_view head, std::uint32_t stream, std::uint32_t served) {
  if (!up_.options.keep_logs) return;
  auto route = up_.find(scenario_key(parse_head(head)));
  if (!route) return;
  const auto serving = route_ ? route_->scenario->name : std::string("?");
  auto text = done_ ? fmt::format(
                          "refused: stream {} arrived after the upstream had sent GOAWAY (last-stream-id {}) and FIN "
                          "on the connection serving scenario {}: never processed (RFC 9113 §6.8)",
                          stream, served, serving)
                    : fmt::format(
                          "refused: stream {} arrived on the upstream connection serving scenario {} (stream {}); "
                          "the upstream serves one stream per connection and answered RST_STREAM REFUSED_STREAM at "
                          "once (RFC 9113 §8.7: safe to retry on another connection)",
                          stream, serving, served);
  // `reused`: the connection serves another scenario (not a stream of this one's own, after its GOAWAY).
  const bool elsewhere = !route_ || route_->scenario != route->scenario;
  add_entry(*route, arrival(elsewhere), head, ConnectionEnd::refused_stream, std::move(text), 0);
}

}  // namespace upfault::upstream
