#pragma once
// Typed reading of the fields of a file upfault reads back (a run report, a bench report): every
// number is checked for its type and range before use, so no value a file holds can throw
// (Boost.JSON's to_number throws "not exact"), wrap, or size an allocation. The first problem is
// kept with the path of its field ("suite.total is not a count …"); each reader returns a harmless
// value after a problem, and the caller stops at the end of a step.
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace upfault {

struct JsonFields {
  std::string error;  ///< the first problem, with its field's path; "" while there is none

  [[nodiscard]] bool ok() const { return error.empty(); }
  /// Records a problem with field `where`.`key` (either may be ""), unless one is recorded already.
  void fail(std::string_view where, std::string_view key, std::string_view what);

  /// A required field (missing: a problem).
  const boost::json::value* get(const boost::json::object& o, std::string_view key, std::string_view where);
  /// A whole number 0 ≤ n ≤ `max` exactly: not negative, not a fraction, not 1e300.
  std::uint64_t count(const boost::json::object& o, std::string_view key, std::string_view where,
                      std::uint64_t max = UINT64_MAX);
  std::uint64_t count(const boost::json::value& v, std::string_view where, std::uint64_t max = UINT64_MAX);
  /// A finite number from 0 up to `max` (counts of seconds, rates: never negative).
  double number(const boost::json::object& o, std::string_view key, std::string_view where, double max = 1e15);
  /// A whole number exactly (a long double holds 64 bits); any other number as the double it is.
  long double exact(const boost::json::object& o, std::string_view key, std::string_view where);
  std::string text(const boost::json::object& o, std::string_view key, std::string_view where);
  const boost::json::object& object(const boost::json::object& o, std::string_view key, std::string_view where);
  const boost::json::array& array(const boost::json::object& o, std::string_view key, std::string_view where);
};

}  // namespace upfault
