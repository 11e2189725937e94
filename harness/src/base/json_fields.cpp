#include "base/json_fields.hpp"

#include <fmt/format.h>

#include <cmath>

#include "upfault/text.hpp"

namespace upfault {

namespace json = boost::json;

void JsonFields::fail(std::string_view where, std::string_view key, std::string_view what) {
  if (error.empty())
    error = safe_text(fmt::format("{}{}{} {}", where, where.empty() || key.empty() ? "" : ".", key, what), false);
}

const json::value* JsonFields::get(const json::object& o, std::string_view key, std::string_view where) {
  const auto* v = o.if_contains(key);
  if (!v) fail(where, key, "is missing");
  return v;
}

std::uint64_t JsonFields::count(const json::value& v, std::string_view where, std::uint64_t max) {
  std::uint64_t n = 0;
  if (v.is_uint64())
    n = v.get_uint64();
  else if (v.is_int64() && v.get_int64() >= 0)
    n = static_cast<std::uint64_t>(v.get_int64());
  else
    return fail(where, "", "is not a count (a whole number >= 0)"), 0;
  if (n > max) return fail(where, "", fmt::format("is {}, over the {} it can be", n, max)), 0;
  return n;
}

std::uint64_t JsonFields::count(const json::object& o, std::string_view key, std::string_view where,
                                std::uint64_t max) {
  const auto* v = get(o, key, where);
  if (!v) return 0;
  const std::string at = fmt::format("{}{}{}", where, where.empty() ? "" : ".", key);
  return count(*v, at, max);
}

double JsonFields::number(const json::object& o, std::string_view key, std::string_view where, double max) {
  const auto* v = get(o, key, where);
  if (!v) return 0;
  if (!v->is_number()) return fail(where, key, "is not a number"), 0;
  const double d = v->is_double()  ? v->get_double()
                   : v->is_int64() ? static_cast<double>(v->get_int64())
                                   : static_cast<double>(v->get_uint64());
  if (!std::isfinite(d) || d < 0 || d > max)
    return fail(where, key, fmt::format("is {}, not a number from 0 to {}", d, max)), 0;
  return d;
}

long double JsonFields::exact(const json::object& o, std::string_view key, std::string_view where) {
  const auto* v = o.if_contains(key);
  if (v && v->is_uint64()) return static_cast<long double>(v->get_uint64());
  if (v && v->is_int64() && v->get_int64() >= 0) return static_cast<long double>(v->get_int64());
  return number(o, key, where, 1.9e19);
}

std::string JsonFields::text(const json::object& o, std::string_view key, std::string_view where) {
  const auto* v = get(o, key, where);
  if (v && v->is_string()) return std::string(v->get_string());
  if (v) fail(where, key, "is not a string");
  return {};
}

const json::object& JsonFields::object(const json::object& o, std::string_view key, std::string_view where) {
  static const json::object empty;
  const auto* v = get(o, key, where);
  if (v && v->is_object()) return v->get_object();
  if (v) fail(where, key, "is not an object");
  return empty;
}

const json::array& JsonFields::array(const json::object& o, std::string_view key, std::string_view where) {
  static const json::array empty;
  const auto* v = get(o, key, where);
  if (v && v->is_array()) return v->get_array();
  if (v) fail(where, key, "is not an array");
  return empty;
}

}  // namespace upfault
