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
