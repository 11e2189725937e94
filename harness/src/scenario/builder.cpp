#include "upfault/builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "base/util.hpp"
#include "upfault/loader.hpp"

namespace upfault {

namespace {

// Throws std::invalid_argument unless `key` is one of `known` (a registry's keys): a typo in C++
// is found where it is written, with the likely key, as the loader finds one in a file.
void require_known(std::string_view what, std::string_view key, const std::vector<std::string_view>& known) {
  if (std::find(known.begin(), known.end(), key) != known.end()) return;
  std::string msg = fmt::format("ScenarioBuilder: unknown {} \"{}\"", what, key);
  if (auto guess = did_you_mean(key, known))
    msg += fmt::format("; did you mean \"{}\"?", *guess);
  else
    msg += fmt::format(" ({}s: {})", what, fmt::join(known, ", "));
  throw std::invalid_argument(msg);
}

// The keys of a registry's kinds (step_kinds(), check_kinds()).
template <class Kind>
std::vector<std::string_view> keys_of(const std::vector<Kind>& kinds, std::string_view Kind::*key) {
  std::vector<std::string_view> out;
  for (const auto& k : kinds) out.push_back(k.*key);
  return out;
}

}  // namespace

ScenarioBuilder::ScenarioBuilder(std::string name, std::string summary, boost::source_location where)
    : head_(fmt::format("name = {}\nsummary = {}\n", toml_quote(name), toml_quote(summary))), where_(where) {}

ScenarioBuilder& ScenarioBuilder::rfc(const std::string& s) {
  return head_ += fmt::format("rfc = {}\n", toml_quote(s)), *this;
}
ScenarioBuilder& ScenarioBuilder::rationale(const std::string& s) {
  return head_ += fmt::format("rationale = {}\n", toml_quote(s)), *this;
}
ScenarioBuilder& ScenarioBuilder::level(Level l) {
  return head_ += fmt::format("level = \"{}\"\n", to_string(l)), *this;
}
ScenarioBuilder& ScenarioBuilder::category(const std::string& c) { return category_ = c, *this; }
ScenarioBuilder& ScenarioBuilder::risk(Risk r) { return head_ += fmt::format("risk = \"{}\"\n", to_string(r)), *this; }

ScenarioBuilder& ScenarioBuilder::tag(const std::string& t) { return tags_.push_back(toml_quote(t)), *this; }
ScenarioBuilder& ScenarioBuilder::request(const std::string& method, const std::string& path, const std::string& body) {
  request_ = fmt::format("[request]\nmethod = {}\npath = {}\nbody = {}\n", toml_quote(method), toml_quote(path),
                         toml_quote(body));
  return *this;
}
ScenarioBuilder& ScenarioBuilder::repeat(int n, const std::string& connection) {
  repeat_ = fmt::format("repeat = {}\nconnection = {}\n", n, toml_quote(connection));
  return *this;
}
ScenarioBuilder& ScenarioBuilder::endpoint(Endpoint e) {
  endpoint_ = fmt::format("endpoint = \"{}\"\n", to_string(e));
  return *this;
}
ScenarioBuilder& ScenarioBuilder::protocol(UpstreamProtocol p) {
  protocol_ = fmt::format("protocol = \"{}\"\n", to_string(p));
  return *this;
}

ScenarioBuilder& ScenarioBuilder::step(std::string_view key, std::string toml_value) {
  static const auto keys = keys_of(step_kinds(), &StepKind::name);
  require_known("step", key, keys);
  steps_ += fmt::format("[[upstream.steps]]\n{} = {}\n", key, toml_value);
  step_limited_ = false;
  return *this;
}

ScenarioBuilder& ScenarioBuilder::on_request(int n) { return limit_step(fmt::format("{}", n)); }
ScenarioBuilder& ScenarioBuilder::on_request(const std::vector<int>& requests) {
  return limit_step(fmt::format("[{}]", fmt::join(requests, ", ")));
}

ScenarioBuilder& ScenarioBuilder::limit_step(const std::string& toml_value) {
  if (steps_.empty()) throw std::invalid_argument("ScenarioBuilder: on_request() comes after the step it limits");
  if (step_limited_) throw std::invalid_argument("ScenarioBuilder: on_request() twice for one step");
  steps_ += fmt::format("on_request = {}\n", toml_value);
  step_limited_ = true;
  return *this;
}

ScenarioBuilder& ScenarioBuilder::expect(std::string_view key, std::string toml_value) {
  static const auto keys = keys_of(check_kinds(), &CheckKind::key);
  require_known("check", key, keys);
  (outcomes_.empty() ? expect_ : outcomes_.back().second) += fmt::format("{} = {}\n", key, toml_value);
  return *this;
}

ScenarioBuilder& ScenarioBuilder::outcome(const char* table) {
  if ((outcomes_.empty() ? expect_ : outcomes_.back().second).empty())
    throw std::invalid_argument(fmt::format("ScenarioBuilder: expect_{}() follows {} with no check yet", table,
                                            outcomes_.empty() ? "[expect]" : "an outcome"));
  outcomes_.emplace_back(table, "");
  return *this;
}
ScenarioBuilder& ScenarioBuilder::expect_or() { return outcome("or"); }
ScenarioBuilder& ScenarioBuilder::expect_stricter() { return outcome("stricter"); }

ScenarioBuilder& ScenarioBuilder::read_head() { return step("read", "\"head\""); }
ScenarioBuilder& ScenarioBuilder::read_request() { return step("read", "\"request\""); }
ScenarioBuilder& ScenarioBuilder::send(const std::string& b) { return step("send", toml_quote(b)); }
ScenarioBuilder& ScenarioBuilder::response(int status, const std::vector<Header>& headers, const std::string& body) {
  std::vector<std::string> h;
  for (const auto& [n, v] : headers) h.push_back(toml_quote(n + ": " + v));
  return step("response", fmt::format("{{ status = {}, headers = [{}], body = {} }}", status, fmt::join(h, ", "),
                                      toml_quote(body)));
}
ScenarioBuilder& ScenarioBuilder::delay(const std::string& d) { return step("delay", toml_quote(d)); }
ScenarioBuilder& ScenarioBuilder::dribble(const std::string& bytes, std::size_t chunk, const std::string& every) {
  return step("dribble",
              fmt::format("{{ data = {}, chunk = {}, every = {} }}", toml_quote(bytes), chunk, toml_quote(every)));
}
ScenarioBuilder& ScenarioBuilder::half_close() { return step("half_close", "true"); }
ScenarioBuilder& ScenarioBuilder::close_fin() { return step("close", "\"fin\""); }
ScenarioBuilder& ScenarioBuilder::close_rst() { return step("close", "\"rst\""); }
ScenarioBuilder& ScenarioBuilder::hang(const std::string& d) {
  return step("hang", d.empty() ? "true" : toml_quote(d));
}

ScenarioBuilder& ScenarioBuilder::expect_status(std::vector<int> s) {
  return expect("status", fmt::format("[{}]", fmt::join(s, ", ")));
}
ScenarioBuilder& ScenarioBuilder::expect_passthrough() { return expect("passthrough", "true"); }
ScenarioBuilder& ScenarioBuilder::expect_aborted() { return expect("aborted", "true"); }
ScenarioBuilder& ScenarioBuilder::within(const std::string& d) { return expect("within", toml_quote(d)); }

std::string ScenarioBuilder::toml() const {
  std::string out = head_;
  if (head_.find("\nlevel = ") == std::string::npos) out += "level = \"must\"\n";
  if (!tags_.empty()) out += fmt::format("tags = [{}]\n", fmt::join(tags_, ", "));
  out += request_.empty() && !repeat_.empty() ? "[request]\n" + repeat_ : request_ + repeat_;
  if (!endpoint_.empty() || !protocol_.empty()) out += "[upstream]\n" + endpoint_ + protocol_;
  out += steps_;
  if (!expect_.empty()) out += "[expect]\n" + expect_;
  for (const auto& [table, checks] : outcomes_) out += fmt::format("[[expect.{}]]\n{}", table, checks);
  return out;
}

Scenario ScenarioBuilder::build() const {
  auto r = load_scenario_text(toml(), "<ScenarioBuilder>", category_);
  if (!r.errors.empty()) throw std::invalid_argument(r.errors.front().str() + "\n" + toml());
  auto s = std::move(r.scenarios.front());
  s.where.file = where_.file_name();
  s.where.line = static_cast<int>(where_.line());
  s.where.column = static_cast<int>(where_.column());
  return s;
}

}  // namespace upfault
