// The multiplexing HTTP/2 server's driver (see h2_mux.hpp), and the connection's routing of its
// streams.
#include "upstream/h2_mux.hpp"

#include <fmt/format.h>

#include <utility>

#include "h2/mux_server.hpp"
#include "upfault/http.hpp"
#include "upstream/connection.hpp"
#include "upstream/h2_session.hpp"

namespace upfault::upstream {

using namespace net;

awaitable<void> serve_multiplexed(Connection& c, std::string replay) {
  h2::MuxServer mux(/*preface_sent=*/true);
  std::string in = std::move(replay);
  while (true) {
    auto received = mux.receive(in);
    for (auto& request : mux.take_requests()) {
      auto response = c.route_multiplexed(h2::render_request_head(request.fields), request.stream);
      if (response)
        mux.respond(request.stream, std::move(response));
      else
        mux.refuse(request.stream);
    }
    const auto out = mux.take_output();
    if (!out.empty()) {
      const bool sent = co_await c.send(out);
      if (!sent) co_return;
    }
    if (!received) {
      c.protocol_error(fmt::format("protocol error on a multiplexed connection: {}; the upstream answered GOAWAY",
                                   received.error().message));
      co_await c.close_fin();
      co_return;
    }
    if (!mux.wants_more()) {  // both sides sent GOAWAY and every stream is closed
      co_await c.close_fin();
      co_return;
    }
    const bool more = co_await c.read_input();
    if (!more) co_return;  // the proxy closed: the connection logged how
    in = std::exchange(c.input(), {});
  }
}

bool Connection::multiplexes(std::string_view head) {
  if (!may_multiplex()) return false;
  auto route = up_.find(scenario_key(parse_head(head)));
  return route && route->h2_response && port_name(route->scenario->endpoint, route->scenario->protocol) == listener_;
}

std::shared_ptr<const h2::FixedResponse> Connection::route_multiplexed(std::string_view head, std::uint32_t stream) {
  const auto key = scenario_key(parse_head(head));
  mux_mixed_ = mux_mixed_ || (mux_route_ && mux_route_->scenario->name != key);
  if (!mux_route_ || mux_route_->scenario->name != key) {
    auto route = up_.find(key);
    if (!route) {
      up_.note_unrouted();
      return nullptr;
    }
    mux_route_ = std::move(*route);
  }
  const auto& route = *mux_route_;
  const bool served = route.h2_response && port_name(route.scenario->endpoint, route.scenario->protocol) == listener_;
  if (!up_.options.keep_logs) {
    if (served) ++route.log->requests;
    return served ? route.h2_response : nullptr;
  }
  if (!served) {
    add_entry(route, arrival(true), head, ConnectionEnd::refused_stream,
              fmt::format("refused: stream {} arrived on a multiplexed upstream connection, which serves only the "
                          "scenarios that answer with a whole valid response; the upstream answered RST_STREAM "
                          "REFUSED_STREAM at once (RFC 9113 §8.7: safe to retry on another connection)",
                          stream),
              0);
    return nullptr;
  }
  int ignored = 0;
  const auto index = open_entry(route, arrival(mux_mixed_), head, ConnectionEnd::open,
                                fmt::format("served on stream {} of a multiplexed connection", stream), ignored);
  if (index != kNotLogged) mux_entries_.emplace_back(route.log, index);
  return route.h2_response;
}

}  // namespace upfault::upstream
