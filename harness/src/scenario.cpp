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
  }
  return "?";
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

std::string_view to_string(UpstreamProtocol p) {
  switch (p) {
    case UpstreamProtocol::http1: return "http/1.1";
    case UpstreamProtocol::https: return "https";
    case UpstreamProtocol::h2c: return "h2c";
    case UpstreamProtocol::h2: return "h2";
  }
  return "?";
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

std::string_view endpoint_prefix(Endpoint e) {
  switch (e) {
    case Endpoint::scripted: return "";
    case Endpoint::refused: return "/__refused";
    case Endpoint::blackhole: return "/__blackhole";
    case Endpoint::accept_close: return "/__accept_close";
    case Endpoint::accept_reset: return "/__accept_reset";
  }
  return "";
}

}  // namespace upfault
