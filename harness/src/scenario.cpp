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

const std::vector<StepKind>& step_kinds() {
  static const std::vector<StepKind> kinds = {
      {"read", "read from the proxy: \"head\" (request head), \"request\" (head and body), "
               "\"none\", or { bytes = N }"},
      {"send", "send raw bytes; escapes \\r \\n \\t \\\\ \\xNN"},
      {"send_hex", "send bytes written as hex digits (spaces allowed)"},
      {"response", "send a structured response: { status, reason, headers, header_fill, body | body_size, "
                   "chunked, last_chunk, truncate }"},
      {"dribble", "send bytes slowly: { data | hex | response, chunk = N, every = DURATION }, paced from a "
                  "fixed start"},
      {"delay", "wait, e.g. \"300ms\" or \"1.5 * read_timeout\""},
      {"half_close", "shut down our sending side (FIN) and keep reading"},
      {"close", "end the connection: \"fin\" (shutdown, then close) or \"rst\" (reset, SO_LINGER 0)"},
      {"hang", "hold the connection open, reading and discarding: true (until the proxy gives up) "
               "or a duration"},
  };
  return kinds;
}

std::string Outcome::describe() const {
  std::string s;
  auto add = [&s](const std::string& part) {
    if (!s.empty()) s += " with ";
    s += part;
  };
  if (!status.empty()) {
    std::string st;
    for (std::size_t i = 0; i < status.size(); ++i) {
      if (i) st += i + 1 == status.size() ? " or " : ", ";
      st += std::to_string(status[i]);
    }
    add(st);
  }
  if (passthrough) add("passthrough of the upstream's response");
  if (aborted) add("an aborted response");
  for (const auto& h : header_present) add("header " + h);
  for (const auto& h : header_absent) add("no header " + h);
  for (const auto& [n, v] : header_equals) add("header " + n + ": " + v);
  for (const auto& [n, v] : header_matches) add("header " + n + " matching /" + v + "/");
  if (body) add(fmt::format("body \"{}\"", *body));
  if (upstream_requests) add(fmt::format("{} upstream request{}", *upstream_requests, *upstream_requests == 1 ? "" : "s"));
  if (interim) add(fmt::format("interim {}", fmt::join(*interim, ", ")));
  if (s.empty()) s = "any response";
  return s;
}

}  // namespace upfault
