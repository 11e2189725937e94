#pragma once
// Reading a scenario's TOML: the per-file context that collects located errors and counts what a
// scenario may generate, and the value readers that the loader and the step kinds share
// (headers, hex, structured responses). Internal to the library.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/toml_file.hpp"
#include "base/util.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

// What one scenario, and a whole suite, may generate (body_size, header_fill): upfault keeps what
// it sends in memory, so a 1.5 KB file must not be able to ask for gigabytes.
constexpr std::size_t kMaxGeneratedPerScenario = 16 << 20;
// Errors listed per file: past this, one line says how many more there were.
constexpr std::size_t kMaxErrorsPerFile = 50;
// headers_match patterns per file: each is compiled when the file loads.
constexpr std::size_t kMaxPatternsPerFile = 64;
constexpr std::size_t kMaxGeneratedPerSuite = 256 << 20;

// Collects errors for one file and turns toml++ source regions into SourceLocations.
class FileContext {
 public:
  explicit FileContext(std::string file, std::size_t* suite_budget = nullptr)
      : file_(std::move(file)), suite_budget_(suite_budget) {}

  // Counts `bytes` against the scenario's and the suite's budget before they are generated.
  bool reserve(const toml::node& n, std::size_t bytes) {
    if (generated_ + bytes > kMaxGeneratedPerScenario) {
      error(n, fmt::format("this scenario would generate {} bytes (body_size, header_fill and the rest); the limit "
                           "is {} MiB per scenario",
                           generated_ + bytes, kMaxGeneratedPerScenario >> 20));
      return false;
    }
    if (suite_budget_ && bytes > *suite_budget_) {
      error(n, fmt::format("the suite would generate more than {} MiB in all (body_size, header_fill); split it",
                           kMaxGeneratedPerSuite >> 20));
      return false;
    }
    generated_ += bytes;
    if (suite_budget_) *suite_budget_ -= bytes;
    return true;
  }
  SourceLocation at(const toml::source_region& r) const {
    return {file_, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
  }
  SourceLocation at(const toml::node& n) const { return at(n.source()); }
  void error(const SourceLocation& where, std::string message) {
    if (errors_.size() < kMaxErrorsPerFile)
      errors_.push_back({where, std::move(message)});
    else
      ++dropped_;
  }
  void error(const toml::node& n, std::string message) { error(at(n), std::move(message)); }
  [[nodiscard]] bool ok() const { return errors_.empty(); }
  std::vector<LoadError>& errors() { return errors_; }
  std::size_t dropped() const { return dropped_; }
  // Counts a headers_match pattern; false (with the error) past the limit.
  bool another_pattern(const toml::node& n) {
    if (++patterns_ <= kMaxPatternsPerFile) return true;
    if (patterns_ == kMaxPatternsPerFile + 1)
      error(n, fmt::format("more than {} headers_match patterns in one file", kMaxPatternsPerFile));
    return false;
  }
  const std::string& file() const { return file_; }

  // Unknown keys are errors, with a did-you-mean where one is close.
  void check_keys(const toml::table& t, std::span<const std::string_view> allowed, std::string_view where) {
    for (auto& p : unknown_keys(t, allowed, where)) error({file_, p.at.line, p.at.column}, std::move(p.message));
  }
  void check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed, std::string_view where) {
    check_keys(t, std::span<const std::string_view>(allowed.begin(), allowed.size()), where);
  }

  std::optional<std::string> string(const toml::node& n, std::string_view what) {
    if (auto s = n.value<std::string>()) return s;
    error(n, fmt::format("{} must be a string, not {}", what, type_name(n)));
    return std::nullopt;
  }

  std::optional<DurationExpr> duration(const toml::node& n, std::string_view what) {
    auto s = string(n, what);
    if (!s) return std::nullopt;
    auto d = DurationExpr::parse(*s);
    if (!d) {
      error(n, fmt::format("{}: {}", what, d.error().message));
      return std::nullopt;
    }
    return *d;
  }

  static std::string type_name(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      default: return "a date or time";
    }
  }

 private:
  std::string file_;
  std::vector<LoadError> errors_;
  std::size_t generated_ = 0;
  std::size_t* suite_budget_;
  std::size_t dropped_ = 0;
  std::size_t patterns_ = 0;
};

// An integer from an integer node only: toml++'s value<int64_t>() also converts floats, and its
// conversion of a float outside the range of int64 is undefined behaviour (found by fuzzing).
inline std::optional<std::int64_t> integer(const toml::node& n) {
  if (auto* i = n.as_integer()) return i->get();
  return std::nullopt;
}
inline std::optional<std::int64_t> integer(const toml::node* n) { return n ? integer(*n) : std::nullopt; }
template <typename View>
std::optional<std::int64_t> integer(const View& v) {
  return integer(v.node());
}

// Headers: an array of "Name: value" strings or ["Name", "value"] pairs (order and duplicates
// kept), or a table (sorted by name).
std::vector<Header> load_headers(FileContext& cx, const toml::node& n);
/// Bytes written as hex digits (spaces, colons and newlines ignored), or what is wrong with them.
Result<std::string> decode_hex(std::string_view hex);
// A structured response, serialised: status line, headers in order, then the body as given,
// generated (body_size), chunked with given sizes, and/or cut at a byte offset (truncate).
std::optional<std::string> load_response(FileContext& cx, const toml::node& n);
/// A string, taken as text, or as hex digits when `what` is "hex".
std::optional<std::string> load_bytes(FileContext& cx, const toml::node& n, std::string_view what);

}  // namespace upfault
