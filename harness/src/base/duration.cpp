#include "upfault/duration.hpp"

#include <fmt/format.h>
#include <cctype>
#include <charconv>
#include <cmath>

namespace upfault {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads a non-negative decimal number at the front of `s`.
std::optional<double> take_number(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
  if (n == 0) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + n, v);
  if (ec != std::errc{} || p != s.data() + n) return std::nullopt;
  s.remove_prefix(n);
  return v;
}

}  // namespace

DurationExpr DurationExpr::fixed(Millis ms) {
  DurationExpr d;
  d.fixed_ms_ = static_cast<double>(ms.count());
  d.text_ = fmt::format("{}ms", ms.count());
  return d;
}

Result<DurationExpr> DurationExpr::parse(std::string_view text) {
  DurationExpr d;
  d.text_ = std::string(trim(text));
  if (d.text_.empty()) {
    return problem("empty duration; write e.g. \"300ms\", \"2s\" or \"1.5 * read_timeout\"");
  }
  std::string_view rest = text;
  while (true) {
    std::string_view term;
    auto plus = rest.find('+');
    term = trim(rest.substr(0, plus));
    if (term.empty()) {
      return problem(fmt::format("missing a term in duration \"{}\"", d.text_));
    }
    // term: NUMBER UNIT | [NUMBER *] NAME
    std::string_view t = term;
    double factor = 1;
    bool have_number = false;
    if (auto n = take_number(t)) {
      factor = *n;
      have_number = true;
    }
    t = trim(t);
    if (have_number && !t.empty() && t.front() == '*') {
      t = trim(t.substr(1));
      if (t == "read_timeout") {
        d.read_factor_ += factor;
      } else if (t == "connect_timeout") {
        d.connect_factor_ += factor;
      } else {
        return problem(
            fmt::format("unknown name \"{}\" in duration \"{}\" (known: read_timeout, connect_timeout)", t, d.text_));
      }
    } else if (!have_number) {
      if (t == "read_timeout") {
        d.read_factor_ += 1;
      } else if (t == "connect_timeout") {
        d.connect_factor_ += 1;
      } else {
        return problem(
            fmt::format("cannot read \"{}\" as a duration; write e.g. \"300ms\", \"2s\" or "
                        "\"1.5 * read_timeout\"",
                        d.text_));
      }
    } else {
      double unit_ms = 0;
      if (t == "ms")
        unit_ms = 1;
      else if (t == "s")
        unit_ms = 1000;
      else if (t == "us")
        unit_ms = 0.001;
      else if (t == "m" || t == "min")
        unit_ms = 60000;
      else {
        return problem(t.empty()
                           ? fmt::format("duration \"{}\" needs a unit (us, ms, s, m)", d.text_)
                           : fmt::format("unknown unit \"{}\" in duration \"{}\" (use us, ms, s or m)", t, d.text_));
      }
      d.fixed_ms_ += factor * unit_ms;
    }
    if (plus == std::string_view::npos) break;
    rest = rest.substr(plus + 1);
  }
  // A scenario's waits and deadlines bound how long a run may take: an hour is already generous.
  constexpr double kMaxMs = 3600.0 * 1000;
  if (d.fixed_ms_ > kMaxMs || d.read_factor_ > 100 || d.connect_factor_ > 100) {
    return problem(fmt::format("duration \"{}\" is too large (at most 1h, or 100 × a timeout)", d.text_));
  }
  return d;
}

Millis DurationExpr::resolve(const ProxyTimeouts& t) const {
  double ms = fixed_ms_ + read_factor_ * static_cast<double>(t.read.count()) +
              connect_factor_ * static_cast<double>(t.connect.count());
  return Millis{static_cast<Millis::rep>(std::llround(ms))};
}

std::string format_millis(Millis ms) {
  if (ms.count() < 1000) return fmt::format("{} ms", ms.count());
  return fmt::format("{:.2f} s", static_cast<double>(ms.count()) / 1000.0);
}

}  // namespace upfault
