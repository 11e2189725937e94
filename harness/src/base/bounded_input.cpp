#include "base/bounded_input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <vector>

namespace upfault {

Result<std::string> read_bounded(const std::filesystem::path& file, std::size_t limit) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    return problem(fmt::format("cannot open the file: {}", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return problem(S_ISDIR(st.st_mode) ? "is a directory"
                                       : "not a regular file (a device, FIFO or socket is not read)");
  }
  std::string out;
  char buf[64 * 1024];
  while (true) {
    // Never past limit + 1 bytes in all: one byte more than the limit is enough to refuse.
    const std::size_t room = limit - out.size();  // out.size() <= limit here
    const ssize_t n = ::read(fd, buf, room < sizeof buf ? room + 1 : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return problem(fmt::format("cannot read the file: {}", std::strerror(saved)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      ::close(fd);
      return problem(limit % (1 << 20) == 0
                         ? fmt::format("the file is larger than {} bytes; the limit is {} MiB", limit, limit >> 20)
                         : fmt::format("the file is larger than {} bytes, the limit", limit));
    }
  }
  ::close(fd);
  return out;
}

namespace {

// A small TOML lexer: enough to know what is a key, a value, a string or a comment.
class DepthScanner {
 public:
  explicit DepthScanner(std::string_view t) : t_(t) {}

  Result<void> run() {
    bool line_start = true;
    while (i_ < t_.size() && !problem_) {
      const char c = t_[i_];
      if (c == '\n') {
        advance();
        if (stack_.empty()) key_mode(), line_start = true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        advance();
        continue;
      }
      if (c == '#') {
        while (i_ < t_.size() && t_[i_] != '\n') advance();
        continue;
      }
      if (c == '"' || c == '\'') {
        skip_string();
        line_start = false;
        continue;
      }
      if (line_start && stack_.empty() && c == '[') {
        header();
        line_start = false;
        continue;
      }
      line_start = false;
      const bool in_key = key_ && (stack_.empty() || stack_.back() == '{');
      if (in_key && c == '.') {
        if (++parts_ > kMaxTomlDepth) fail("a key with more than {} dotted parts");
      } else if (c == '=') {
        key_ = false;
      } else if (!key_ && (c == '[' || c == '{')) {
        stack_.push_back(c);
        if (stack_.size() > static_cast<std::size_t>(kMaxTomlDepth)) fail("values nested more than {} deep");
        if (c == '{') key_mode();
      } else if (c == ']' || c == '}') {
        if (!stack_.empty()) stack_.pop_back();
        key_ = false;
      } else if (!key_ && c == ',' && !stack_.empty() && stack_.back() == '{') {
        key_mode();
      }
      advance();
    }
    if (problem_) return *problem_;
    return {};
  }

 private:
  void key_mode() { key_ = true, parts_ = 1; }
  void advance() {
    if (t_[i_] == '\n')
      ++line_, col_ = 1;
    else
      ++col_;
    ++i_;
  }
  void fail(const char* what) {
    if (!problem_) problem_ = problem_at(line_, col_, fmt::format(fmt::runtime(what), kMaxTomlDepth));
  }
  // [a.b."c"] or [[a.b]]: counts the parts up to the closing bracket.
  void header() {
    int parts = 1;
    advance();
    while (i_ < t_.size() && t_[i_] != ']' && t_[i_] != '\n' && !problem_) {
      if (t_[i_] == '"' || t_[i_] == '\'') {
        skip_string();
        continue;
      }
      if (t_[i_] == '.' && ++parts > kMaxTomlDepth) fail("a table header with more than {} dotted parts");
      advance();
    }
    while (i_ < t_.size() && t_[i_] == ']') advance();
    key_mode();
  }
  void skip_string() {
    const char q = t_[i_];
    const bool triple = t_.substr(i_, 3) == std::string(3, q);
    for (int k = 0; k < (triple ? 3 : 1); ++k) advance();
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '\\' && q == '"' && i_ + 1 < t_.size()) {
        advance(), advance();
        continue;
      }
      if (c == '\n' && !triple) return;  // an unterminated string: toml++ reports it
      if (c == q && (!triple || t_.substr(i_, 3) == std::string(3, q))) {
        for (int k = 0; k < (triple ? 3 : 1); ++k) advance();
        // A closing """ may be followed by up to two more quotes that belong to the content.
        while (triple && i_ < t_.size() && t_[i_] == q) advance();
        return;
      }
      advance();
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
  int line_ = 1, col_ = 1;
  bool key_ = true;
  int parts_ = 1;
  std::vector<char> stack_;
  std::optional<Problem> problem_;
};

}  // namespace

Result<void> check_toml_depth(std::string_view text) { return DepthScanner(text).run(); }

}  // namespace upfault
