#pragma once
// The check registry. A check kind is one file in this directory that defines
//
//   extern const CheckDef <file name>_check = {.key = …, .order = …, .example = …, .toml_example = …,
//                                             .holds = …, .parse = parse};
//
// with a Check subclass (scenario.hpp): how the check is written (parse, from its TOML value, and
// toml, back), what it expects in words, and how it judges an observation. CMake generates the index from the
// file names. The loader, did-you-mean, the judge and the expectations table of
// scenarios/README.md all come from here (a test checks the README against checks_markdown()).
// Checks judge plain data only: nothing here may include sockets, the server or the runner.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/scenario_toml.hpp"
#include "upfault/http.hpp"
#include "upfault/observed.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

struct CheckDef {
  std::string_view key;      ///< its TOML key
  int order;                 ///< its place in the documentation, and in judging
  std::string_view example;  ///< the README table's first cell (Markdown)
  /// One `key = value` line of [expect], written as the check's toml() writes it (a test builds
  /// every kind from it and reads it back).
  std::string_view toml_example;
  std::string_view holds;  ///< the README table's second cell: when it holds (Markdown)
  /// Reads the check from its TOML value; null after reporting the problem to `cx`.
  std::shared_ptr<const Check> (*parse)(FileContext& cx, const toml::node& value);
};

/// Every check kind, in documentation (and judging) order.
[[nodiscard]] const std::vector<const CheckDef*>& check_registry();

// Helpers the checks share.

/// The values of every field `name` (case-insensitive) of the client's response, in order.
[[nodiscard]] std::vector<std::string> field_values(const ClientResult& c, std::string_view name);
/// The client's body is exactly `want`: compared by bytes within the kept prefix, by size and
/// SHA-1 beyond it.
[[nodiscard]] bool body_is(const ClientResult& c, std::string_view want);
/// `values` joined with ", ", as a proxy may fold repeated fields.
[[nodiscard]] std::string joined(const std::vector<std::string>& values);
/// Status codes: one integer or an array of them, each three digits (empty after reporting).
[[nodiscard]] std::vector<int> load_status_codes(FileContext& cx, const toml::node& n, std::string_view key);
/// `["a", "b"]`: strings as a TOML array (for toml()).
[[nodiscard]] std::string toml_strings(const std::vector<std::string>& values);
/// `["Name: value"]`: header fields as a TOML array (for toml()).
[[nodiscard]] std::string toml_fields(const std::vector<Header>& fields);
/// A list of field names: an array of strings.
[[nodiscard]] std::optional<std::vector<std::string>> load_names(FileContext& cx, const toml::node& n,
                                                                 std::string_view key);

}  // namespace upfault
