// The fields the reference proxy never forwards (see hop_by_hop.hpp).
#include "hop_by_hop.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace upfault_ref {

namespace http = boost::beast::http;

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The lower-case names the Connection header lists.
std::set<std::string> connection_named(const http::fields& fields) {
  std::set<std::string> out;
  for (auto it = fields.find(http::field::connection); it != fields.end() && iequals(it->name_string(), "connection");
       ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      auto comma = v.find(',');
      auto token = v.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty()) out.insert(to_lower(token));
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
  }
  return out;
}
}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_hop_by_hop(std::string_view name) {
  static const std::set<std::string, std::less<>> kHopByHop = {
      "connection", "keep-alive",        "proxy-connection", "te",
      "trailer",    "transfer-encoding", "upgrade",          "content-length"};  // framing is recomputed
  return kHopByHop.count(to_lower(name)) > 0;
}

std::string end_to_end_fields(const http::fields& fields) {
  const auto named = connection_named(fields);
  std::string out;
  for (const auto& f : fields) {
    if (is_hop_by_hop(f.name_string()) || named.count(to_lower(f.name_string()))) continue;
    std::string value(f.value());
    for (auto& c : value)
      if (c == '\r' || c == '\n') c = ' ';
    out += fmt::format("{}: {}\r\n", std::string(f.name_string()), value);
  }
  return out;
}

}  // namespace upfault_ref
