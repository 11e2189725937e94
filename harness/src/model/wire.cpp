// The fake upstream's request-side HTTP/1.1 parsing (see wire.hpp).
#include "model/wire.hpp"

#include <fmt/format.h>
#include <cctype>

#include "base/util.hpp"

namespace upfault {

namespace {
constexpr std::string_view kRouteMarker = "/__upfault/";
}  // namespace

std::string route_prefix(std::string_view scenario) { return fmt::format("/__upfault/{}", scenario); }
std::string route_key(std::string_view target) { return std::string(upstream::route_key_view(target)); }

namespace upstream {

std::string_view route_key_view(std::string_view target) {
  auto at = target.find(kRouteMarker);
  if (at == std::string_view::npos) return {};
  auto rest = target.substr(at + kRouteMarker.size());
  return rest.substr(0, rest.find_first_of("/?#"));
}

RequestHead parse_head(std::string_view head) {
  RequestHead h;
  std::string_view line = head.substr(0, head.find('\n'));
  auto sp1 = line.find(' ');
  if (sp1 != std::string_view::npos) {
    auto sp2 = line.find(' ', sp1 + 1);
    h.target = line.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
  }
  for_each_field(head, [&h](std::string_view name, std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      bool ok = !value.empty();
      for (char c : value) ok = ok && c >= '0' && c <= '9', n = n * 10 + static_cast<std::size_t>(c - '0');
      if (ok) h.body.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      h.body.chunked = value.find("chunked") != std::string_view::npos;
    } else if (iequals(name, "x-upfault-scenario")) {
      h.scenario_header = value;
    }
  });
  return h;
}

std::string_view scenario_key(const RequestHead& h) {
  return h.scenario_header.empty() ? route_key_view(h.target) : h.scenario_header;
}

namespace {

// Walks the chunked body at the front of `buf`, calling on_data(bytes) for each chunk's data:
// its length up to the end of the trailer section, or nullopt while incomplete.
template <typename F>
std::optional<std::size_t> walk_chunks(std::string_view buf, F&& on_data) {
  std::size_t pos = 0;
  while (true) {
    auto eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    auto digits = buf.substr(pos, eol - pos);
    for (char c : digits) {
      int v = std::isxdigit(static_cast<unsigned char>(c))
                  ? (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10))
                  : -1;
      if (v < 0) break;  // chunk extension
      size = size * 16 + static_cast<std::size_t>(v);
      if (size > (std::size_t{1} << 48)) return std::nullopt;  // no such body fits in memory: wait for the cap
    }
    pos = eol + 2;
    if (size == 0) {  // trailers end with an empty line
      auto end = buf.find("\r\n", pos);
      while (end != std::string_view::npos && end != pos) {
        pos = end + 2;
        end = buf.find("\r\n", pos);
      }
      if (end == std::string_view::npos) return std::nullopt;
      return end + 2;
    }
    if (buf.size() < pos + size + 2) return std::nullopt;
    on_data(buf.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace

std::optional<std::size_t> chunked_length(std::string_view buf) {
  return walk_chunks(buf, [](std::string_view) {});
}

std::optional<std::string> chunked_body(std::string_view buf) {
  std::string body;
  if (!walk_chunks(buf, [&body](std::string_view data) { body.append(data); })) return std::nullopt;
  return body;
}

}  // namespace upstream
}  // namespace upfault
