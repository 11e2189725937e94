// Value readers shared by the loader and the step kinds (see scenario_toml.hpp).
#include "model/scenario_toml.hpp"

#include "upfault/http.hpp"

namespace upfault {

std::vector<Header> load_headers(FileContext& cx, const toml::node& n) {
  std::vector<Header> out;
  if (auto* t = n.as_table()) {
    for (auto&& [k, v] : *t)
      if (auto s = cx.string(v, fmt::format("header \"{}\"", k.str()))) out.emplace_back(std::string(k.str()), *s);
    return out;
  }
  auto* a = n.as_array();
  if (!a) {
    cx.error(n, "headers must be an array of \"Name: value\" strings or [name, value] pairs, or a table");
    return out;
  }
  for (auto&& item : *a) {
    if (auto s = item.value<std::string>()) {
      auto colon = s->find(':');
      if (colon == std::string::npos) {
        cx.error(item, fmt::format("header \"{}\" has no colon; write \"Name: value\"", *s));
        continue;
      }
      std::string value = s->substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      out.emplace_back(s->substr(0, colon), value);
    } else if (auto* pair = item.as_array();
               pair && pair->size() == 2 && pair->get(0)->is_string() && pair->get(1)->is_string()) {
      out.emplace_back(*pair->get(0)->value<std::string>(), *pair->get(1)->value<std::string>());
    } else {
      cx.error(item, "each header must be \"Name: value\" or [\"Name\", \"value\"]");
    }
  }
  return out;
}

Result<std::string> decode_hex(std::string_view hex) {
  std::string out;
  int nibble = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ':') continue;
    int v = std::isxdigit(static_cast<unsigned char>(c)) ? std::stoi(std::string(1, c), nullptr, 16) : -1;
    if (v < 0) {
      return problem(fmt::format("'{}' is not a hex digit", c));
    }
    if (nibble < 0)
      nibble = v;
    else {
      out.push_back(static_cast<char>(nibble * 16 + v));
      nibble = -1;
    }
  }
  if (nibble >= 0) {
    return problem("odd number of hex digits");
  }
  return out;
}

namespace {

// header_fill = { count = N, size = S }: N generated fields X-Fill-1…N, each value S bytes.
void add_header_fill(FileContext& cx, const toml::node& hf, std::vector<Header>& headers) {
  auto* ft = hf.as_table();
  auto count = ft ? integer((*ft)["count"]) : std::nullopt;
  auto size = ft ? integer((*ft)["size"]) : std::nullopt;
  if (ft) cx.check_keys(*ft, {"count", "size"}, "header_fill");
  if (!count || !size || *count < 1 || *count > 100000 || *size < 1 || *size > (16 << 20) ||
      *count * *size > (16 << 20))
    cx.error(hf, "header_fill must be { count = 1..100000, size = 1..16777216 } (at most 16 MiB in all)");
  else if (cx.reserve(hf, static_cast<std::size_t>(*count * (*size + 16))))
    for (std::int64_t i = 1; i <= *count; ++i)
      headers.emplace_back(fmt::format("X-Fill-{}", i), std::string(static_cast<std::size_t>(*size), 'f'));
}

// chunked = [sizes] or true: the sizes that slice `body`; nullopt (with the error) when they cannot.
std::optional<std::vector<std::size_t>> load_chunks(FileContext& cx, const toml::node& c, const std::string& body) {
  std::vector<std::size_t> chunks;
  std::size_t total = 0;
  if (auto* a = c.as_array()) {
    for (auto&& v : *a) {
      auto size = integer(v);
      if (!size || *size <= 0)
        cx.error(v, "chunk sizes must be positive integers");
      else
        chunks.push_back(static_cast<std::size_t>(*size)), total += static_cast<std::size_t>(*size);
    }
    if (total != body.size()) {
      cx.error(c, fmt::format("chunk sizes add up to {}, but the body has {} bytes", total, body.size()));
      return std::nullopt;  // the sizes cannot slice this body
    }
  } else if (c.value<bool>().value_or(false)) {
    if (!body.empty()) chunks.push_back(body.size());
  } else {
    cx.error(c, "chunked must be true or a list of chunk sizes");
  }
  return chunks;
}

}  // namespace

std::optional<std::string> load_response(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "response must be a table: { status = 200, reason = \"OK\", headers = [...], body = \"...\" }");
    return std::nullopt;
  }
  cx.check_keys(*t,
                {"status", "reason", "headers", "header_fill", "body", "body_size", "auto_length", "chunked",
                 "last_chunk", "truncate"},
                "response");
  ResponseImage r;
  auto status = (*t)["status"];
  if (!status) {
    cx.error(n, "response needs a status");
    return std::nullopt;
  }
  if (auto v = integer(status); v && *v >= 0 && *v <= 999)
    r.status = static_cast<int>(*v);
  else {
    cx.error(*status.node(), "response status must be an integer from 0 to 999 (use send for anything stranger)");
    return std::nullopt;
  }
  r.reason = t->contains("reason") ? cx.string(*t->get("reason"), "reason").value_or("")
                                   : std::string(reason_phrase(r.status));
  if (auto* h = t->get("headers")) r.headers = load_headers(cx, *h);
  if (auto* hf = t->get("header_fill")) add_header_fill(cx, *hf, r.headers);
  if (auto* b = t->get("body")) r.body = cx.string(*b, "body").value_or("");
  if (auto* bs = t->get("body_size")) {
    auto size = integer(bs);
    if (t->contains("body"))
      cx.error(*bs, "give body or body_size, not both");
    else if (!size || *size < 0 || *size > (16 << 20))
      cx.error(*bs, "body_size must be an integer from 0 to 16777216 (16 MiB)");
    else if (cx.reserve(*bs, static_cast<std::size_t>(*size)))
      r.body = generated_body(static_cast<std::size_t>(*size));
  }
  auto flag = [&](const char* key, bool fallback) {
    auto* f = t->get(key);
    if (!f) return fallback;
    if (auto b = f->value<bool>()) return *b;
    cx.error(*f, fmt::format("{} must be true or false", key));
    return fallback;
  };
  const bool auto_length = flag("auto_length", true);
  const bool last_chunk = flag("last_chunk", true);
  std::optional<std::vector<std::size_t>> chunks;
  if (auto* c = t->get("chunked")) {
    chunks = load_chunks(cx, *c, r.body);
    if (!chunks) return std::nullopt;
  } else if (t->contains("last_chunk")) {
    cx.error(*t->get("last_chunk"), "last_chunk only means something with chunked");
  }
  bool framed = std::any_of(r.headers.begin(), r.headers.end(), [](const Header& h) {
    return iequals(h.first, "content-length") || iequals(h.first, "transfer-encoding");
  });
  if (chunks) {
    if (!framed) r.headers.emplace_back("Transfer-Encoding", "chunked");
    std::string body;
    std::size_t at = 0;
    for (auto size : *chunks) {
      body += fmt::format("{:x}\r\n", size) + r.body.substr(at, size) + "\r\n";
      at += size;
    }
    if (last_chunk) body += "0\r\n\r\n";
    r.body = std::move(body);
  } else if (auto_length && !framed) {
    r.headers.emplace_back("Content-Length", std::to_string(r.body.size()));
  }
  std::string wire = serialize_response(r);
  if (auto* tr = t->get("truncate")) {
    auto at = integer(tr);
    if (!at || *at < 0 || static_cast<std::size_t>(*at) >= wire.size())
      cx.error(*tr, fmt::format("truncate must be a byte offset from 0 to {} (the response has {} bytes)",
                                wire.empty() ? 0 : wire.size() - 1, wire.size()));
    else
      wire.resize(static_cast<std::size_t>(*at));
  }
  return wire;
}

std::optional<std::string> load_bytes(FileContext& cx, const toml::node& n, std::string_view what) {
  auto s = cx.string(n, what);
  if (!s) return std::nullopt;
  if (what != "hex") return s;
  auto bytes = decode_hex(*s);
  if (!bytes) {
    cx.error(n, "hex: " + bytes.error().message);
    return std::nullopt;
  }
  return std::move(*bytes);
}

}  // namespace upfault
