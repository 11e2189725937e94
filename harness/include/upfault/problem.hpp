#pragma once
/// One error idiom for setup: a function that can fail for one reason (a bad address, a profile
/// that does not load, a proxy that never became ready, a port that cannot be bound) returns
/// Result<T>: the value, or the Problem that says why not.
///
///   Result<HostPort> parse_host_port(std::string text);
///   ...
///   auto hp = parse_host_port(text);
///   if (!hp) return hp.error();          // pass it on, noticed where it was
///   use(hp->host);                       // or hp.value(): throws std::runtime_error(message)
///
/// Which to use when:
/// - Result<T> / Problem: one operation, one reason it failed; the caller decides what to print.
/// - LoadResult (loader.hpp) with LoadError: reading a scenario file reports every problem in it
///   at its file:line:col, not just the first, so that one run shows them all. That is a
///   collection of findings about the user's text, not a failed operation; it stays as it is.
/// - Exceptions: for programming errors (a ScenarioBuilder used wrongly in a test), and what the
///   system refuses mid-run (out of memory, threads); never for input a user can get wrong.
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace upfault {

/// A place in a text upfault reads (1-based); 0 when a problem is about no place in a text.
struct TextPosition {
  int line = 0;
  int column = 0;
};

/// Why something could not be done.
struct Problem {
  /// What upfault prints: the whole user-facing text, exactly. For a problem at a place in a text
  /// (`at`) whose file the caller names, the text without the file: in_file() prefixes it.
  std::string message;
  /// Where in upfault's source the problem was noticed: for debugging, never printed to users.
  boost::source_location where;
  /// Where in the text read (a TOML file's line and column), when the problem is about a place.
  TextPosition at;

  Problem() = default;
  /// No one-argument form: a Result<std::string> must never take a string for a Problem.
  Problem(std::string text, boost::source_location noticed) : message(std::move(text)), where(noticed) {}

  /// The same problem (noticed where it was), its message preceded by `prefix` ("--mix: ").
  [[nodiscard]] Problem prefixed(std::string_view prefix) const {
    Problem p{std::string(prefix) + message, where};
    p.at = at;
    return p;
  }
  /// The problem as printed for `file`: "file:line:column: message" (the place kept).
  [[nodiscard]] Problem in_file(std::string_view file) const {
    return prefixed(std::string(file) + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": ");
  }
};

/// A value, or the Problem that kept it from being made.
template <class T = void>
using Result = boost::system::result<T, Problem>;

/// A Problem noticed here (the caller's source location).
[[nodiscard]] inline Problem problem(std::string message, boost::source_location where = BOOST_CURRENT_LOCATION) {
  return {std::move(message), where};
}

/// A Problem at a place in a text (line and column, 1-based) whose file the caller names (in_file).
[[nodiscard]] inline Problem problem_at(int line, int column, std::string message,
                                        boost::source_location where = BOOST_CURRENT_LOCATION) {
  Problem p{std::move(message), where};
  p.at = {line, column};
  return p;
}

/// For Result<T>::value() on a Problem (found by argument-dependent lookup): a plain
/// std::runtime_error with the message, as upfault printed it before the location existed.
[[noreturn]] inline void throw_exception_from_error(const Problem& p, const boost::source_location&) {
  throw std::runtime_error(p.message);
}

/// For test output: the message and where it was noticed.
inline std::ostream& operator<<(std::ostream& os, const Problem& p) {
  return os << p.message << " (noticed at " << p.where.file_name() << ":" << p.where.line() << " in "
            << p.where.function_name() << ")";
}

}  // namespace upfault
