#include "upfault/scenario.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace upfault {

std::string SourceLocation::str() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::must: return "must";
    case Level::should: return "should";
    case Level::may: return "may";
  }
  return "?";
}

std::string_view to_string(Risk risk) {
  switch (risk) {
    case Risk::desync: return "desync";
    case Risk::lost_information: return "lost-information";
    case Risk::wrong_error: return "wrong-error";
  }
  return "?";
}

std::string_view to_string(Endpoint e) {
  switch (e) {
    case Endpoint::scripted: return "scripted";
    case Endpoint::refused: return "refused";
    case Endpoint::blackhole: return "blackhole";
    case Endpoint::accept_close: return "accept-close";
    case Endpoint::accept_reset: return "accept-reset";
    case Endpoint::tls_stall: return "tls-stall";
    case Endpoint::tls_garbage: return "tls-garbage";
    case Endpoint::tls_alert: return "tls-alert";
    case Endpoint::tls_expired: return "tls-expired";
    case Endpoint::tls_wrong_name: return "tls-wrong-name";
    case Endpoint::tls_untrusted: return "tls-untrusted";
  }
  return "?";
}

bool runs_steps(Endpoint e) {
  return e == Endpoint::scripted || e == Endpoint::tls_expired || e == Endpoint::tls_wrong_name ||
         e == Endpoint::tls_untrusted;
}

bool is_tls(Endpoint e) {
  switch (e) {
    case Endpoint::tls_stall:
    case Endpoint::tls_garbage:
    case Endpoint::tls_alert:
    case Endpoint::tls_expired:
    case Endpoint::tls_wrong_name:
    case Endpoint::tls_untrusted: return true;
    default: return false;
  }
}

std::string_view to_string(UpstreamProtocol p) {
  switch (p) {
    case UpstreamProtocol::http1: return "http/1.1";
    case UpstreamProtocol::https: return "https";
    case UpstreamProtocol::h2c: return "h2c";
    case UpstreamProtocol::h2: return "h2";
  }
  return "?";
}

std::optional<UpstreamProtocol> parse_protocol(std::string_view text) {
  for (auto p : {UpstreamProtocol::http1, UpstreamProtocol::https, UpstreamProtocol::h2c, UpstreamProtocol::h2})
    if (text == to_string(p)) return p;
  return std::nullopt;
}

std::string_view protocol_prefix(UpstreamProtocol p) {
  switch (p) {
    case UpstreamProtocol::http1: return "";
    case UpstreamProtocol::https: return "/__tls";
    case UpstreamProtocol::h2c: return "/__h2c";
    case UpstreamProtocol::h2: return "/__h2";
  }
  return "";
}

const std::vector<PortField>& endpoint_port_fields() {
  using P = EndpointPorts;
  static const std::vector<PortField> fields = {
      {"refused", &P::refused, "/__refused", "Port held closed"},
      {"blackhole", &P::blackhole, "/__blackhole", "Port whose connects never complete"},
      {"accept-close", &P::accept_close, "/__accept_close", "Port that accepts then closes"},
      {"accept-reset", &P::accept_reset, "/__accept_reset", "Port that accepts then resets"},
      {"tls", &P::tls, "/__tls", "TLS port (valid certificate, ALPN http/1.1) running the scripts"},
      {"tls-h2", &P::tls_h2, "/__h2", "TLS port (valid certificate, ALPN h2) running HTTP/2 scripts"},
      {"tls-stall", &P::tls_stall, "/__tls_stall", "TLS port that never answers the ClientHello"},
      {"tls-garbage", &P::tls_garbage, "/__tls_garbage", "TLS port that answers the ClientHello with garbage"},
      {"tls-alert", &P::tls_alert, "/__tls_alert", "TLS port that answers the ClientHello with a fatal alert"},
      {"tls-expired", &P::tls_expired, "/__tls_expired", "TLS port with an expired certificate"},
      {"tls-wrong-name", &P::tls_wrong_name, "/__tls_wrong_name", "TLS port with a certificate for another name"},
      {"tls-untrusted", &P::tls_untrusted, "/__tls_untrusted", "TLS port with a self-signed certificate"},
  };
  return fields;
}

const PortField* port_field(std::string_view name) {
  for (const auto& f : endpoint_port_fields())
    if (f.name == name) return &f;
  return nullptr;
}

std::string_view endpoint_prefix(Endpoint e) {
  if (e == Endpoint::scripted) return "";
  const auto* f = port_field(to_string(e));
  return f ? f->prefix : "";
}

std::string_view port_name(Endpoint e, UpstreamProtocol p) {
  if (e != Endpoint::scripted) return to_string(e);
  if (p == UpstreamProtocol::https) return "tls";
  if (p == UpstreamProtocol::h2) return "tls-h2";
  return "";
}

std::string_view upstream_prefix(Endpoint e, UpstreamProtocol p) {
  return e == Endpoint::scripted ? protocol_prefix(p) : endpoint_prefix(e);
}

bool Scenario::reads_past_response() const {
  for (const auto* list : {&expect.accept, &expect.stricter})
    for (const auto& o : *list)
      for (const auto& c : o.checks)
        if (c->reads_past_response()) return true;
  return false;
}

std::string_view to_string(ClientConnections c) {
  switch (c) {
    case ClientConnections::separate: return "close";
    case ClientConnections::keep_alive: return "keep-alive";
    case ClientConnections::pipelined: return "pipelined";
  }
  return "?";
}

}  // namespace upfault
