#include "base/pattern.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include <atomic>

namespace upfault {

struct Pattern::Impl {
  explicit Impl(std::string_view p, const RE2::Options& o) : re(re2::StringPiece(p.data(), p.size()), o) {}
  RE2 re;
};

namespace {
std::atomic<std::uint64_t> compiled_patterns{0};
}  // namespace

Pattern::Pattern(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Pattern::Pattern(const Pattern&) = default;
Pattern& Pattern::operator=(const Pattern&) = default;
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

Result<Pattern> Pattern::compile(std::string_view pattern) {
  if (pattern.size() > kMaxLength) {
    return problem(fmt::format("the pattern is {} bytes; the limit is {}", pattern.size(), kMaxLength));
  }
  RE2::Options o;
  o.set_log_errors(false);
  // The compiled program's memory, whatever the pattern's repetitions; also what bounds the
  // time to compile it (a 1 MiB budget: \pL{1,1000} is refused in about 10 ms, not 100).
  o.set_max_mem(1 << 20);
  auto impl = std::make_shared<Impl>(pattern, o);
  ++compiled_patterns;
  if (!impl->re.ok()) {
    return problem(impl->re.error());
  }
  return Pattern(std::move(impl));
}

std::uint64_t Pattern::compiled() { return compiled_patterns.load(); }

bool Pattern::full_match(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), impl_->re);
}

std::optional<std::vector<std::string>> Pattern::search(std::string_view text) const {
  const int n = impl_->re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(n) + 1);
  if (!impl_->re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, groups.data(),
                       n + 1))
    return std::nullopt;
  std::vector<std::string> out;
  for (std::size_t i = 1; i < groups.size(); ++i) out.emplace_back(groups[i].data(), groups[i].size());
  return out;
}

}  // namespace upfault
