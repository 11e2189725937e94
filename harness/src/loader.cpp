// Scenario loading and validation. Every problem becomes a LoadError with file:line:col;
// a file with errors yields no scenario, and never stops the other files from loading.
#include "upfault/loader.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>
#include <toml++/toml.h>

#include "upfault/http.hpp"
#include "bounded_input.hpp"
#include "pattern.hpp"
#include "util.hpp"

namespace upfault {

namespace fs = std::filesystem;

std::string LoadError::str() const { return safe_text(fmt::format("{}: error: {}", where.str(), message), false); }

namespace {

// Collects errors for one file and turns toml++ source regions into SourceLocations.
// What one scenario, and a whole suite, may generate (body_size, header_fill): upfault keeps what
// it sends in memory, so a 1.5 KB file must not be able to ask for gigabytes.
constexpr std::size_t kMaxGeneratedPerScenario = 16 << 20;
// Errors listed per file: past this, one line says how many more there were.
constexpr std::size_t kMaxErrorsPerFile = 50;
// headers_match patterns per file: each is compiled when the file loads.
constexpr std::size_t kMaxPatternsPerFile = 64;
constexpr std::size_t kMaxGeneratedPerSuite = 256 << 20;

class FileContext {
 public:
  explicit FileContext(std::string file, std::size_t* suite_budget = nullptr)
      : file_(std::move(file)), suite_budget_(suite_budget) {}

  // Counts `bytes` against the scenario's and the suite's budget before they are generated.
  bool reserve(const toml::node& n, std::size_t bytes) {
    if (generated_ + bytes > kMaxGeneratedPerScenario) {
      error(n, fmt::format("this scenario would generate {} bytes (body_size, header_fill and the rest); the limit "
                           "is {} MiB per scenario", generated_ + bytes, kMaxGeneratedPerScenario >> 20));
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
    if (errors_.size() < kMaxErrorsPerFile) errors_.push_back({where, std::move(message)});
    else ++dropped_;
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
  void check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed, std::string_view where) {
    for (auto&& [key, value] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string msg = fmt::format("unknown key \"{}\" in {}", key.str(), where);
      if (auto guess = did_you_mean(key.str(), allowed)) msg += fmt::format("; did you mean \"{}\"?", *guess);
      else msg += fmt::format(" (allowed: {})", fmt::join(allowed, ", "));
      error(at(key.source()), msg);
    }
  }

  std::optional<std::string> string(const toml::node& n, std::string_view what) {
    if (auto s = n.value<std::string>()) return s;
    error(n, fmt::format("{} must be a string, not {}", what, type_name(n)));
    return std::nullopt;
  }

  std::optional<DurationExpr> duration(const toml::node& n, std::string_view what) {
    auto s = string(n, what);
    if (!s) return std::nullopt;
    std::string err;
    auto d = DurationExpr::parse(*s, err);
    if (!d) error(n, fmt::format("{}: {}", what, err));
    return d;
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
std::optional<std::int64_t> integer(const toml::node& n) {
  if (auto* i = n.as_integer()) return i->get();
  return std::nullopt;
}
std::optional<std::int64_t> integer(const toml::node* n) { return n ? integer(*n) : std::nullopt; }
template <typename View>
std::optional<std::int64_t> integer(const View& v) { return integer(v.node()); }

// Headers: an array of "Name: value" strings or ["Name", "value"] pairs (order and duplicates
// kept), or a table (sorted by name).
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
    } else if (auto* pair = item.as_array(); pair && pair->size() == 2 && pair->get(0)->is_string() &&
                                             pair->get(1)->is_string()) {
      out.emplace_back(*pair->get(0)->value<std::string>(), *pair->get(1)->value<std::string>());
    } else {
      cx.error(item, "each header must be \"Name: value\" or [\"Name\", \"value\"]");
    }
  }
  return out;
}

std::optional<std::string> decode_hex(std::string_view hex, std::string& error) {
  std::string out;
  int nibble = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ':') continue;
    int v = std::isxdigit(static_cast<unsigned char>(c)) ? std::stoi(std::string(1, c), nullptr, 16) : -1;
    if (v < 0) {
      error = fmt::format("'{}' is not a hex digit", c);
      return std::nullopt;
    }
    if (nibble < 0) nibble = v;
    else {
      out.push_back(static_cast<char>(nibble * 16 + v));
      nibble = -1;
    }
  }
  if (nibble >= 0) {
    error = "odd number of hex digits";
    return std::nullopt;
  }
  return out;
}

// A structured response, serialised: status line, headers in order, then the body as given,
// generated (body_size), chunked with given sizes, and/or cut at a byte offset (truncate).
std::optional<std::string> load_response(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "response must be a table: { status = 200, reason = \"OK\", headers = [...], body = \"...\" }");
    return std::nullopt;
  }
  cx.check_keys(*t, {"status", "reason", "headers", "header_fill", "body", "body_size", "auto_length", "chunked",
                     "last_chunk", "truncate"},
                "response");
  ResponseImage r;
  auto status = (*t)["status"];
  if (!status) {
    cx.error(n, "response needs a status");
    return std::nullopt;
  }
  if (auto v = integer(status); v && *v >= 0 && *v <= 999) r.status = static_cast<int>(*v);
  else {
    cx.error(*status.node(), "response status must be an integer from 0 to 999 (use send for anything stranger)");
    return std::nullopt;
  }
  r.reason = t->contains("reason") ? cx.string(*t->get("reason"), "reason").value_or("") : std::string(reason_phrase(r.status));
  if (auto* h = t->get("headers")) r.headers = load_headers(cx, *h);
  // header_fill = { count = N, size = S }: N generated fields X-Fill-1…N, each value S bytes.
  if (auto* hf = t->get("header_fill")) {
    auto* ft = hf->as_table();
    auto count = ft ? integer((*ft)["count"]) : std::nullopt;
    auto size = ft ? integer((*ft)["size"]) : std::nullopt;
    if (ft) cx.check_keys(*ft, {"count", "size"}, "header_fill");
    if (!count || !size || *count < 1 || *count > 100000 || *size < 1 || *size > 65536 || *count * *size > (16 << 20))
      cx.error(*hf, "header_fill must be { count = 1..100000, size = 1..65536 } (at most 16 MiB in all)");
    else if (cx.reserve(*hf, static_cast<std::size_t>(*count * (*size + 16))))
      for (std::int64_t i = 1; i <= *count; ++i)
        r.headers.emplace_back(fmt::format("X-Fill-{}", i), std::string(static_cast<std::size_t>(*size), 'f'));
  }
  if (auto* b = t->get("body")) r.body = cx.string(*b, "body").value_or("");
  if (auto* bs = t->get("body_size")) {
    auto size = integer(bs);
    if (t->contains("body")) cx.error(*bs, "give body or body_size, not both");
    else if (!size || *size < 0 || *size > (16 << 20)) cx.error(*bs, "body_size must be an integer from 0 to 16777216 (16 MiB)");
    else if (cx.reserve(*bs, static_cast<std::size_t>(*size))) r.body = generated_body(static_cast<std::size_t>(*size));
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
    chunks.emplace();
    std::size_t total = 0;
    if (auto* a = c->as_array()) {
      for (auto&& v : *a) {
        auto size = integer(v);
        if (!size || *size <= 0) cx.error(v, "chunk sizes must be positive integers");
        else chunks->push_back(static_cast<std::size_t>(*size)), total += static_cast<std::size_t>(*size);
      }
      if (total != r.body.size()) {
        cx.error(*c, fmt::format("chunk sizes add up to {}, but the body has {} bytes", total, r.body.size()));
        return std::nullopt;  // the sizes cannot slice this body
      }
    } else if (c->value<bool>().value_or(false)) {
      if (!r.body.empty()) chunks->push_back(r.body.size());
    } else {
      cx.error(*c, "chunked must be true or a list of chunk sizes");
    }
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
    else wire.resize(static_cast<std::size_t>(*at));
  }
  return wire;
}

std::optional<std::string> load_bytes(FileContext& cx, const toml::node& n, std::string_view what) {
  auto s = cx.string(n, what);
  if (!s) return std::nullopt;
  if (what != "hex") return s;
  std::string err;
  auto bytes = decode_hex(*s, err);
  if (!bytes) cx.error(n, "hex: " + err);
  return bytes;
}

std::optional<Step> load_dribble(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "dribble must be a table: { data = \"...\", chunk = 1, every = \"100ms\" }");
    return std::nullopt;
  }
  cx.check_keys(*t, {"data", "hex", "response", "chunk", "every"}, "dribble");
  step::Dribble d;
  int sources = 0;
  std::optional<std::string> bytes;
  if (auto* v = t->get("data")) ++sources, bytes = load_bytes(cx, *v, "data");
  if (auto* v = t->get("hex")) ++sources, bytes = load_bytes(cx, *v, "hex");
  if (auto* v = t->get("response")) ++sources, bytes = load_response(cx, *v);
  if (sources != 1) {
    cx.error(n, "dribble needs exactly one of data, hex or response");
    return std::nullopt;
  }
  if (!bytes) return std::nullopt;
  d.bytes = std::move(*bytes);
  if (auto* c = t->get("chunk")) {
    auto size = integer(c);
    if (!size || *size <= 0) {
      cx.error(*c, "chunk must be a positive integer (bytes per piece)");
      return std::nullopt;
    }
    d.chunk = static_cast<std::size_t>(*size);
  }
  auto* every = t->get("every");
  if (!every) {
    cx.error(n, "dribble needs every = DURATION (the pause between pieces)");
    return std::nullopt;
  }
  auto e = cx.duration(*every, "every");
  if (!e) return std::nullopt;
  d.every = *e;
  return d;
}

std::optional<Step> load_action(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "each [[upstream.steps]] entry must be a table");
    return std::nullopt;
  }
  std::vector<std::string_view> names;
  for (const auto& k : step_kinds()) names.push_back(k.name);
  const std::size_t actions = t->size() - (t->contains("on_request") ? 1 : 0);
  if (actions != 1) {
    cx.error(n, fmt::format("a step has exactly one action, one of: {} (this one has {})", fmt::join(names, ", "),
                            actions));
    return std::nullopt;
  }
  auto it = t->begin();
  if (it->first.str() == "on_request") ++it;
  auto&& [key, value] = *it;
  const std::string_view kind = key.str();
  const SourceLocation where = cx.at(key.source());
  if (kind == "read") {
    step::Read r;
    if (auto s = value.value<std::string>()) {
      if (*s == "head") r.what = step::Read::What::head;
      else if (*s == "request") r.what = step::Read::What::request;
      else if (*s == "none") r.what = step::Read::What::none;
      else {
        cx.error(value, fmt::format("read must be \"head\", \"request\", \"none\" or {{ bytes = N }}, not \"{}\"", *s));
        return std::nullopt;
      }
    } else if (auto* rt = value.as_table(); rt && rt->contains("bytes")) {
      cx.check_keys(*rt, {"bytes"}, "read");
      auto b = integer(rt->get("bytes"));
      if (!b || *b <= 0 || *b > (64 << 20)) {
        cx.error(*rt->get("bytes"), "read.bytes must be an integer from 1 to 67108864");
        return std::nullopt;
      }
      r.what = step::Read::What::bytes;
      r.bytes = static_cast<std::size_t>(*b);
    } else {
      cx.error(value, "read must be \"head\", \"request\", \"none\" or { bytes = N }");
      return std::nullopt;
    }
    return r;
  }
  if (kind == "send") {
    auto s = cx.string(value, "send");
    if (!s) return std::nullopt;
    return step::Send{*s};
  }
  if (kind == "send_hex") {
    auto s = cx.string(value, "send_hex");
    if (!s) return std::nullopt;
    std::string err;
    auto bytes = decode_hex(*s, err);
    if (!bytes) {
      cx.error(value, "send_hex: " + err);
      return std::nullopt;
    }
    return step::Send{*bytes};
  }
  if (kind == "response") {
    auto wire = load_response(cx, value);
    if (!wire) return std::nullopt;
    return step::Send{std::move(*wire)};
  }
  if (kind == "dribble") return load_dribble(cx, value);
  if (kind == "half_close") {
    if (value.value<bool>() != true) {
      cx.error(value, "write half_close = true");
      return std::nullopt;
    }
    return step::HalfClose{};
  }
  if (kind == "delay") {
    auto d = cx.duration(value, "delay");
    if (!d) return std::nullopt;
    return step::Delay{*d};
  }
  if (kind == "close") {
    auto s = value.value<std::string>();
    if (s == "fin") return step::Close{step::Close::How::fin};
    if (s == "rst") return step::Close{step::Close::How::rst};
    cx.error(value, "close must be \"fin\" or \"rst\"");
    return std::nullopt;
  }
  if (kind == "hang") {
    if (auto b = value.value<bool>()) {
      if (!*b) {
        cx.error(value, "hang = false does nothing; remove the step");
        return std::nullopt;
      }
      return step::Hang{};
    }
    auto d = cx.duration(value, "hang");
    if (!d) return std::nullopt;
    return step::Hang{*d};
  }
  std::string msg = fmt::format("unknown step \"{}\"", kind);
  if (auto guess = did_you_mean(kind, names)) msg += fmt::format("; did you mean \"{}\"?", *guess);
  else msg += fmt::format(" (steps: {})", fmt::join(names, ", "));
  cx.error(where, msg);
  return std::nullopt;
}

// A step: one action, and optionally on_request = N or [N, …] (the scenario's request indexes).
std::optional<ScriptStep> load_step(FileContext& cx, const toml::node& n) {
  auto action = load_action(cx, n);
  if (!action) return std::nullopt;
  ScriptStep s{std::move(*action), {}};
  if (auto* on = n.as_table()->get("on_request")) {
    auto add = [&](const toml::node& v) {
      auto i = integer(v);
      if (!i || *i < 1 || *i > 1000) cx.error(v, "on_request takes request numbers from 1 to 1000");
      else s.on_request.push_back(static_cast<int>(*i));
    };
    if (auto* a = on->as_array()) {
      for (auto&& v : *a) add(v);
    } else {
      add(*on);
    }
  }
  return s;
}

Outcome load_outcome(FileContext& cx, const toml::table& t, bool top) {
  Outcome o;
  o.where = cx.at(t);
  const auto errors_before = cx.errors().size();
  if (top)
    cx.check_keys(t, {"status", "passthrough", "aborted", "within", "not_before", "header_present", "header_absent",
                      "headers", "headers_match", "body", "upstream_requests", "interim", "or", "stricter"},
                  "[expect]");
  else
    cx.check_keys(t, {"status", "passthrough", "aborted", "within", "not_before", "header_present", "header_absent",
                      "headers", "headers_match", "body", "upstream_requests", "interim"},
                  "an outcome");
  if (auto* s = t.get("status")) {
    auto add = [&](const toml::node& v) {
      auto code = integer(v);
      if (!code || *code < 100 || *code > 599) cx.error(v, "status must be an integer from 100 to 599");
      else o.status.push_back(static_cast<int>(*code));
    };
    if (auto* a = s->as_array()) {
      if (a->empty()) cx.error(*s, "status list is empty");
      for (auto&& v : *a) add(v);
    } else {
      add(*s);
    }
  }
  for (auto [key, flag] : {std::pair{"passthrough", &o.passthrough}, std::pair{"aborted", &o.aborted}}) {
    if (auto* n = t.get(key)) {
      if (auto b = n->value<bool>()) *flag = *b;
      else cx.error(*n, fmt::format("{} must be true or false", key));
    }
  }
  if (auto* n = t.get("within")) o.within = cx.duration(*n, "within");
  if (auto* n = t.get("not_before")) o.not_before = cx.duration(*n, "not_before");
  for (auto [key, list] : {std::pair{"header_present", &o.header_present}, std::pair{"header_absent", &o.header_absent}}) {
    if (auto* n = t.get(key)) {
      if (auto* a = n->as_array())
        for (auto&& v : *a) {
          if (auto name = cx.string(v, key)) list->push_back(*name);
        }
      else cx.error(*n, fmt::format("{} must be an array of field names", key));
    }
  }
  if (auto* n = t.get("headers")) o.header_equals = load_headers(cx, *n);
  if (auto* n = t.get("headers_match")) {
    o.header_matches = load_headers(cx, *n);
    for (const auto& [name, pattern] : o.header_matches) {
      if (!cx.another_pattern(*n)) break;
      std::string error;
      if (!Pattern::compile(pattern, error))
        cx.error(*n, fmt::format("headers_match: the pattern for {} is not a valid RE2 regex: {} (/{}/)", name, error,
                                 printable(pattern, 80)));
    }
  }
  if (auto* n = t.get("body")) o.body = cx.string(*n, "body");
  if (auto* n = t.get("upstream_requests")) {
    auto v = integer(n);
    if (!v || *v < 0 || *v > 1000) cx.error(*n, "upstream_requests must be an integer from 0 to 1000");
    else o.upstream_requests = static_cast<int>(*v);
  }
  if (auto* n = t.get("interim")) {
    o.interim.emplace();
    if (auto* a = n->as_array()) {
      for (auto&& v : *a) {
        auto code = integer(v);
        if (!code || *code < 100 || *code > 199) cx.error(v, "interim lists 1xx status codes");
        else o.interim->push_back(static_cast<int>(*code));
      }
    } else {
      cx.error(*n, "interim must be an array of 1xx status codes ([] for none)");
    }
  }
  const bool checks_response = !o.status.empty() || o.passthrough || !o.header_present.empty() ||
                               !o.header_absent.empty() || !o.header_equals.empty() || !o.header_matches.empty() || o.body || o.interim;
  // An unknown key (a typo) already explains a missing check: say it once.
  if (!checks_response && !o.aborted && cx.errors().size() == errors_before)
    cx.error(o.where, "an expectation needs status, passthrough, aborted, or a header/body/interim check");
  if (o.aborted && checks_response)
    cx.error(o.where, "aborted = true contradicts checks of a complete response (status, passthrough, headers, "
                      "body); list the other outcome under [[expect.or]]");
  return o;
}

void validate_steps(FileContext& cx, const Scenario& s, const toml::node& steps_node) {
  bool closed = false;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    if (closed) {
      cx.error(*steps_node.as_array()->get(i),
               fmt::format("step {} comes after the connection was closed, so it can never run", i + 1));
      break;
    }
    const auto& a = s.steps[i].action;
    closed = s.steps[i].on_request.empty() && (std::holds_alternative<step::Close>(a) || std::holds_alternative<step::Hang>(a));
  }
}

std::optional<Scenario> load_table(FileContext& cx, const toml::table& root, const std::string& category) {
  Scenario s;
  s.where = {cx.file(), 1, 1};
  s.category = category;
  cx.check_keys(root, {"name", "summary", "rfc", "rationale", "level", "tags", "request", "upstream", "expect"},
                "the scenario");
  auto required_string = [&](const char* key) -> std::string {
    if (auto* n = root.get(key)) return cx.string(*n, key).value_or("");
    cx.error(s.where, fmt::format("missing required key \"{}\"", key));
    return "";
  };
  s.name = required_string("name");
  if (!s.name.empty() && !valid_name(s.name))
    cx.error(*root.get("name"), fmt::format("name \"{}\" may only hold a-z, 0-9, '-', '_' and '.'", s.name));
  s.summary = required_string("summary");
  if (auto* n = root.get("rfc")) s.rfc = cx.string(*n, "rfc").value_or("");
  if (auto* n = root.get("rationale")) s.rationale = cx.string(*n, "rationale").value_or("");
  if (s.rfc.empty() && s.rationale.empty())
    cx.error(s.where, "a scenario needs \"rfc\" (the section it checks) or a \"rationale\" where no RFC speaks");
  if (auto* n = root.get("level")) {
    auto l = n->value<std::string>();
    if (l == "must") s.level = Level::must;
    else if (l == "should") s.level = Level::should;
    else if (l == "may") s.level = Level::may;
    else cx.error(*n, "level must be \"must\", \"should\" or \"may\"");
  } else {
    cx.error(s.where, "missing required key \"level\" (must, should or may)");
  }
  if (auto* n = root.get("tags")) {
    if (auto* a = n->as_array()) {
      for (auto&& v : *a)
        if (auto tag = cx.string(v, "a tag")) s.tags.push_back(*tag);
    } else {
      cx.error(*n, "tags must be an array of strings");
    }
  }

  if (auto* n = root.get("request")) {
    if (auto* t = n->as_table()) {
      cx.check_keys(*t, {"method", "path", "headers", "body", "repeat"}, "[request]");
      if (auto* r = t->get("repeat")) {
        auto v = integer(r);
        if (!v || *v < 1 || *v > 100) cx.error(*r, "repeat must be an integer from 1 to 100");
        else s.request.repeat = static_cast<int>(*v);
      }
      if (auto* m = t->get("method")) s.request.method = cx.string(*m, "method").value_or("GET");
      if (auto* p = t->get("path")) {
        s.request.path = cx.string(*p, "path").value_or("/");
        if (s.request.path.empty() || s.request.path.front() != '/')
          cx.error(*p, "path must start with '/'");
      }
      if (auto* h = t->get("headers")) s.request.headers = load_headers(cx, *h);
      if (auto* b = t->get("body")) s.request.body = cx.string(*b, "body").value_or("");
    } else {
      cx.error(*n, "request must be a table");
    }
  }

  const toml::node* steps_node = nullptr;
  if (auto* n = root.get("upstream")) {
    if (auto* t = n->as_table()) {
      cx.check_keys(*t, {"endpoint", "steps"}, "[upstream]");
      if (auto* e = t->get("endpoint")) {
        auto v = e->value<std::string>();
        static constexpr Endpoint kAll[] = {Endpoint::scripted, Endpoint::refused, Endpoint::blackhole,
                                            Endpoint::accept_close, Endpoint::accept_reset};
        bool known = false;
        for (auto candidate : kAll)
          if (v == to_string(candidate)) s.endpoint = candidate, known = true;
        if (!known)
          cx.error(*e, "endpoint must be \"scripted\", \"refused\", \"blackhole\", \"accept-close\" or \"accept-reset\"");
      }
      if ((steps_node = t->get("steps"))) {
        if (auto* a = steps_node->as_array()) {
          for (auto&& st : *a)
            if (auto step = load_step(cx, st)) s.steps.push_back(std::move(*step));
        } else {
          cx.error(*steps_node, "steps must be an array of tables: [[upstream.steps]]");
        }
      }
    } else {
      cx.error(*n, "upstream must be a table");
    }
  }
  if (s.endpoint == Endpoint::scripted && s.steps.empty() && cx.ok())
    cx.error(s.where, "a scripted upstream needs at least one [[upstream.steps]] entry");
  if (s.endpoint != Endpoint::scripted && !s.steps.empty())
    cx.error(*steps_node, fmt::format("steps never run: the \"{}\" endpoint accepts no request",
                                      to_string(s.endpoint)));
  if (steps_node && cx.ok()) validate_steps(cx, s, *steps_node);

  if (auto* n = root.get("expect")) {
    if (auto* t = n->as_table()) {
      s.expect.accept.push_back(load_outcome(cx, *t, true));
      for (auto [key, list] : {std::pair{"or", &s.expect.accept}, std::pair{"stricter", &s.expect.stricter}}) {
        if (auto* extra = t->get(key)) {
          if (auto* a = extra->as_array(); a && a->is_array_of_tables()) {
            for (auto&& o : *a) list->push_back(load_outcome(cx, *o.as_table(), false));
          } else {
            cx.error(*extra, fmt::format("expect.{} must be an array of tables: [[expect.{}]]", key, key));
          }
        }
      }
    } else {
      cx.error(*n, "expect must be a table");
    }
  } else {
    cx.error(s.where, "missing [expect]: what must the proxy do?");
  }

  // Passthrough compares with what the upstream sends, so that must be a valid response.
  // What the upstream sends in answer to the last request (the one that is judged).
  std::string sent;
  for (const auto& st : s.steps) {
    if (!st.on_request.empty() &&
        std::find(st.on_request.begin(), st.on_request.end(), s.request.repeat) == st.on_request.end())
      continue;
    if (auto* send = std::get_if<step::Send>(&st.action)) sent += send->bytes;
    if (auto* dribble = std::get_if<step::Dribble>(&st.action)) sent += dribble->bytes;
  }
  s.upstream_response = parse_complete_response(sent);
  for (const auto& list : {&s.expect.accept, &s.expect.stricter}) {
    for (const auto& o : *list) {
      if (!o.passthrough) continue;
      if (!s.upstream_response) {
        cx.error(o.where, "passthrough = true needs the upstream to send one complete, valid response, "
                          "and these steps do not");
      } else if (!o.status.empty() &&
                 std::find(o.status.begin(), o.status.end(), s.upstream_response->status) == o.status.end()) {
        cx.error(o.where, fmt::format("passthrough = true contradicts status: the upstream sends {}",
                                      s.upstream_response->status));
      }
    }
  }
  if (!cx.ok()) return std::nullopt;
  return s;
}
// An error about a whole file, reported at 1:1.
LoadError file_error(const std::filesystem::path& file, std::string message) {
  return make_load_error(file.string(), 1, 1, std::move(message));
}


constexpr std::size_t kMaxScenarioFile = 1024 * 1024;

LoadResult load_text(std::string_view text, const std::string& file, const std::string& category,
                     std::size_t* suite_budget);

void load_file(const fs::path& file, const std::string& category, LoadResult& out, std::size_t& suite_budget) {
  std::string error;
  auto text = read_bounded(file, kMaxScenarioFile, error);
  if (!text) {
    out.errors.push_back(file_error(file, error));
    return;
  }
  auto r = load_text(*text, file.string(), category, &suite_budget);
  for (auto& s : r.scenarios) out.scenarios.push_back(std::move(s));
  for (auto& e : r.errors) out.errors.push_back(std::move(e));
}

}  // namespace

LoadResult load_scenario_text(std::string_view text, const std::string& file, const std::string& category) {
  return load_text(text, file, category, nullptr);
}

namespace {
LoadResult load_text(std::string_view text, const std::string& file, const std::string& category,
                     std::size_t* suite_budget) {
  LoadResult out;
  FileContext cx(file, suite_budget);
  if (auto deep = check_toml_depth(text)) {
    out.errors.push_back(make_load_error(file, deep->line, deep->column, deep->message));
    return out;
  }
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    out.errors.push_back({cx.at(e.source()), std::string(e.description())});
    return out;
  }
  auto s = load_table(cx, root, category);
  if (s) out.scenarios.push_back(std::move(*s));
  for (auto& e : cx.errors()) out.errors.push_back(std::move(e));
  if (cx.dropped())
    out.errors.push_back(make_load_error(file, 1, 1, fmt::format("… and {} more errors in this file", cx.dropped())));
  return out;
}
}  // namespace

LoadResult load_scenarios(const std::vector<fs::path>& paths) {
  LoadResult out;
  std::size_t budget = kMaxGeneratedPerSuite;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->path().extension() == ".toml" && (it->is_regular_file() || it->is_symlink())) files.push_back(it->path());
      std::sort(files.begin(), files.end());
      const auto root = fs::weakly_canonical(p, ec);
      for (const auto& f : files) {
        // A suite is its directory: a link that leads out of it is not part of it.
        const auto real = fs::weakly_canonical(f, ec);
        const auto inside = real.lexically_relative(root);
        if (ec || inside.empty() || *inside.begin() == "..") {
          out.errors.push_back(file_error(f, fmt::format("the file leads outside the suite directory (to {})",
                                                                real.string())));
          continue;
        }
        const auto category = f.parent_path().lexically_relative(p);
        load_file(f, category.empty() || category == "." ? p.filename().string() : category.string(), out, budget);
      }
    } else if (fs::exists(p, ec)) {
      load_file(p, p.parent_path().filename().string(), out, budget);
    } else {
      out.errors.push_back(file_error(p, "no such file or directory"));
    }
  }
  // Names route requests, so they are unique across the whole suite.
  std::map<std::string, SourceLocation> seen;
  std::vector<Scenario> unique;
  for (auto& s : out.scenarios) {
    auto [it, fresh] = seen.emplace(s.name, s.where);
    if (fresh) unique.push_back(std::move(s));
    else out.errors.push_back({s.where, fmt::format("scenario name \"{}\" is already used by {}", s.name,
                                                    it->second.file)});
  }
  out.scenarios = std::move(unique);
  return out;
}

LoadError make_load_error(std::string file, int line, int column, std::string message) {
  LoadError e;
  e.where.file = std::move(file);
  e.where.line = line;
  e.where.column = column;
  e.message = std::move(message);
  return e;
}

}  // namespace upfault
