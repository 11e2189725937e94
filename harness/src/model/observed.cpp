#include "upfault/observed.hpp"

#include <algorithm>

namespace upfault {

std::string_view to_string(Ending e) {
  switch (e) {
    case Ending::complete: return "complete";
    case Ending::closed_early: return "closed-early";
    case Ending::reset: return "reset";
    case Ending::timed_out: return "timed-out";
    case Ending::invalid: return "invalid";
    case Ending::connect_failed: return "connect-failed";
  }
  return "?";
}

std::string_view to_string(ConnectionEnd e) {
  switch (e) {
    case ConnectionEnd::open: return "open";
    case ConnectionEnd::fin: return "fin";
    case ConnectionEnd::rst: return "rst";
    case ConnectionEnd::peer_closed: return "peer closed";
    case ConnectionEnd::peer_reset: return "peer reset";
    case ConnectionEnd::timed_out: return "timed out";
    case ConnectionEnd::capped: return "connection cap reached";
    case ConnectionEnd::reused: return "reused";
    case ConnectionEnd::after_close: return "arrived after close";
    case ConnectionEnd::misrouted: return "misrouted";
    case ConnectionEnd::error: return "error";
    case ConnectionEnd::protocol_error: return "protocol error";
    case ConnectionEnd::refused_stream: return "refused stream";
  }
  return "?";
}

std::string_view to_string(VerdictKind k) {
  switch (k) {
    case VerdictKind::pass: return "pass";
    case VerdictKind::stricter: return "stricter";
    case VerdictKind::fail: return "fail";
    case VerdictKind::error: return "error";
    case VerdictKind::not_run: return "not-run";
  }
  return "?";
}

int UpstreamLog::connection_count() const {
  std::vector<std::uint64_t> ids;
  for (const auto& c : connections) ids.push_back(c.connection);
  std::sort(ids.begin(), ids.end());
  return static_cast<int>(std::unique(ids.begin(), ids.end()) - ids.begin());
}

int UpstreamLog::requests() const {
  int n = 0;
  for (const auto& c : connections) n += c.requests;
  return n;
}

}  // namespace upfault
