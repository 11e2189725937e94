#pragma once
// The fields the reference proxy never forwards (RFC 9110 §7.6.1), one set for the HTTP/1.1 and
// the HTTP/2 upstream paths: the hop-by-hop fields, plus the framing fields it recomputes.
#include <boost/beast/http/fields.hpp>

#include <string>
#include <string_view>

namespace upfault_ref {

/// `s` in lower case (ASCII).
[[nodiscard]] std::string to_lower(std::string_view s);

/// True when a field of this name (any case) is hop-by-hop or framing: Connection, Keep-Alive,
/// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Content-Length.
[[nodiscard]] bool is_hop_by_hop(std::string_view name);

/// The forwarded field lines ("Name: value\r\n"): none that is_hop_by_hop, nor any the Connection
/// header names; an obs-fold (or any CR/LF) becomes SP.
[[nodiscard]] std::string end_to_end_fields(const boost::beast::http::fields& fields);

}  // namespace upfault_ref
