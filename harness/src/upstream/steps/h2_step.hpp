#pragma once
// What the HTTP/2 step kinds (h2_*.cpp) share: a base class that runs only on an HTTP/2
// connection, and the readers for a stream id, a payload and a header list.
#include <sstream>

#include "upstream/connection.hpp"
#include "upstream/h2_session.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {

/// A stream id as a step writes it: "request" (the served request's stream, the default) or a number.
struct StreamRef {
  bool request = true;
  std::uint32_t id = 0;
  [[nodiscard]] std::uint32_t resolve(const h2::Session& s) const { return request ? s.request_stream() : id; }
};

/// An HTTP/2 step: sends the frames frames() builds when it runs (the HPACK encoder and the stream
/// of the request are known only then).
class H2Step : public UpstreamStep {
 public:
  H2Step(std::string_view kind, std::string toml) : kind_(kind), toml_(std::move(toml)) {}
  std::string_view kind() const override { return kind_; }
  std::string toml() const override { return toml_; }
  bool needs_h2() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    auto* s = c.h2();
    if (!s) {
      c.fail(fmt::format("error: step {} needs an HTTP/2 connection (set [upstream] protocol = \"h2c\" or \"h2\")",
                         kind_));
      co_await c.close_fin();
      co_return Flow::stop;
    }
    const bool ok = co_await act(c, *s);
    co_return ok ? Flow::next : Flow::stop;
  }

 protected:
  /// The frames to send, serialised; nullopt when they cannot be built (the HPACK encoder failed).
  [[nodiscard]] virtual std::optional<std::string> frames(h2::Session& s) const = 0;
  [[nodiscard]] virtual net::awaitable<bool> act(upstream::Connection& c, h2::Session& s) const {
    const auto out = frames(s);
    if (!out) {
      c.fail(fmt::format("error: step {}: the frames could not be built", kind_));
      co_return false;
    }
    co_return co_await s.send(c, *out);
  }

 private:
  std::string_view kind_;
  std::string toml_;
};

/// `key = value` as written, for H2Step's toml().
inline std::string h2_toml(std::string_view key, const toml::node& value) {
  std::ostringstream os;
  value.visit([&os](auto&& v) { os << v; });
  return fmt::format("{} = {}", key, os.str());
}

/// Reads `stream` ("request" or a number 0..2^31-1) from table `t`; `fallback` when absent.
inline std::optional<StreamRef> h2_stream(FileContext& cx, const toml::table& t, StreamRef fallback = {}) {
  const auto* n = t.get("stream");
  if (!n) return fallback;
  if (n->value<std::string>() == "request") return StreamRef{};
  if (auto i = integer(*n); i && *i >= 0 && *i <= 0x7fffffff) return StreamRef{false, static_cast<std::uint32_t>(*i)};
  cx.error(*n, "stream must be \"request\" or a number from 0 to 2147483647");
  return std::nullopt;
}

/// An unsigned number in [0, max] from `t[key]`, `fallback` when absent.
inline std::optional<std::uint32_t> h2_number(FileContext& cx, const toml::table& t, std::string_view key,
                                              std::uint32_t max, std::uint32_t fallback) {
  const auto* n = t.get(key);
  if (!n) return fallback;
  if (auto i = integer(*n); i && *i >= 0 && static_cast<std::uint64_t>(*i) <= max)
    return static_cast<std::uint32_t>(*i);
  cx.error(*n, fmt::format("{} must be a number from 0 to {}", key, max));
  return std::nullopt;
}

/// A boolean from `t[key]`, `fallback` when absent.
inline std::optional<bool> h2_bool(FileContext& cx, const toml::table& t, std::string_view key, bool fallback) {
  const auto* n = t.get(key);
  if (!n) return fallback;
  if (auto b = n->value<bool>()) return *b;
  cx.error(*n, fmt::format("{} must be true or false", key));
  return std::nullopt;
}

/// An error code by name ("cancel", "PROTOCOL_ERROR") or number, from `t[key]`.
inline std::optional<std::uint32_t> h2_error_code(FileContext& cx, const toml::table& t, std::string_view key,
                                                  std::uint32_t fallback) {
  const auto* n = t.get(key);
  if (!n) return fallback;
  if (auto s = n->value<std::string>())
    if (auto code = h2::error_from_name(*s)) return code;
  if (auto i = integer(*n); i && *i >= 0 && *i <= 0xffffffff) return static_cast<std::uint32_t>(*i);
  cx.error(*n, "an error code is a name (\"no_error\", \"protocol_error\", \"cancel\", ...) or a number");
  return std::nullopt;
}

/// A header list: "name: value" strings (a name may begin with ':', as ":status: 200") or
/// [name, value] pairs, kept exactly (case, order, duplicates).
inline std::optional<std::vector<h2::Field>> h2_fields(FileContext& cx, const toml::node& n) {
  const auto* a = n.as_array();
  if (!a) {
    cx.error(n, "a header list is an array of \"name: value\" strings or [name, value] pairs");
    return std::nullopt;
  }
  std::vector<h2::Field> out;
  for (auto&& e : *a) {
    if (auto s = e.value<std::string>()) {
      const auto colon = s->find(':', s->empty() || (*s)[0] != ':' ? 0 : 1);
      if (colon == std::string::npos) {
        cx.error(e, "a header line is \"name: value\"");
        return std::nullopt;
      }
      auto value = s->substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      out.emplace_back(s->substr(0, colon), value);
    } else if (const auto* pair = e.as_array();
               pair && pair->size() == 2 && (*pair)[0].value<std::string>() && (*pair)[1].value<std::string>()) {
      out.emplace_back(*(*pair)[0].value<std::string>(), *(*pair)[1].value<std::string>());
    } else {
      cx.error(e, "a header line is \"name: value\" or [name, value]");
      return std::nullopt;
    }
  }
  return out;
}

/// A step's value as a table (`h2_x = { ... }`), or null after the error.
inline const toml::table* h2_table(FileContext& cx, const toml::node& value, std::string_view key,
                                   std::initializer_list<std::string_view> keys) {
  const auto* t = value.as_table();
  if (!t) {
    cx.error(value, fmt::format("{} must be a table: {} = {{ ... }}", key, key));
    return nullptr;
  }
  cx.check_keys(*t, keys, key);
  return t;
}

}  // namespace upfault
