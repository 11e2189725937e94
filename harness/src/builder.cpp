#include "upfault/builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "upfault/loader.hpp"
#include "util.hpp"

namespace upfault {

ScenarioBuilder::ScenarioBuilder(std::string name, std::string summary)
    : head_(fmt::format("name = {}\nsummary = {}\n", toml_quote(name), toml_quote(summary))) {}

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
ScenarioBuilder& ScenarioBuilder::tag(const std::string& t) { return tags_.push_back(toml_quote(t)), *this; }
ScenarioBuilder& ScenarioBuilder::request(const std::string& method, const std::string& path, const std::string& body) {
  request_ = fmt::format("[request]\nmethod = {}\npath = {}\nbody = {}\n", toml_quote(method), toml_quote(path),
                         toml_quote(body));
  return *this;
}
ScenarioBuilder& ScenarioBuilder::endpoint(Endpoint e) {
  upstream_ = fmt::format("[upstream]\nendpoint = \"{}\"\n", to_string(e));
  return *this;
}

#define UPFAULT_STEP(text) (steps_ += fmt::format("[[upstream.steps]]\n{}\n", text), *this)
ScenarioBuilder& ScenarioBuilder::read_head() { return UPFAULT_STEP("read = \"head\""); }
ScenarioBuilder& ScenarioBuilder::read_request() { return UPFAULT_STEP("read = \"request\""); }
ScenarioBuilder& ScenarioBuilder::send(const std::string& b) { return UPFAULT_STEP("send = " + toml_quote(b)); }
ScenarioBuilder& ScenarioBuilder::response(int status, const std::vector<Header>& headers, const std::string& body) {
  std::vector<std::string> h;
  for (const auto& [n, v] : headers) h.push_back(toml_quote(n + ": " + v));
  return UPFAULT_STEP(fmt::format("response = {{ status = {}, headers = [{}], body = {} }}", status, fmt::join(h, ", "),
                                  toml_quote(body)));
}
ScenarioBuilder& ScenarioBuilder::delay(const std::string& d) { return UPFAULT_STEP("delay = " + toml_quote(d)); }
ScenarioBuilder& ScenarioBuilder::dribble(const std::string& bytes, std::size_t chunk, const std::string& every) {
  return UPFAULT_STEP(
      fmt::format("dribble = {{ data = {}, chunk = {}, every = {} }}", toml_quote(bytes), chunk, toml_quote(every)));
}
ScenarioBuilder& ScenarioBuilder::half_close() { return UPFAULT_STEP("half_close = true"); }
ScenarioBuilder& ScenarioBuilder::close_fin() { return UPFAULT_STEP("close = \"fin\""); }
ScenarioBuilder& ScenarioBuilder::close_rst() { return UPFAULT_STEP("close = \"rst\""); }
ScenarioBuilder& ScenarioBuilder::hang(const std::string& d) {
  return UPFAULT_STEP(d.empty() ? std::string("hang = true") : "hang = " + toml_quote(d));
}
#undef UPFAULT_STEP

ScenarioBuilder& ScenarioBuilder::expect_status(std::vector<int> s) {
  return expect_ += fmt::format("status = [{}]\n", fmt::join(s, ", ")), *this;
}
ScenarioBuilder& ScenarioBuilder::expect_passthrough() { return expect_ += "passthrough = true\n", *this; }
ScenarioBuilder& ScenarioBuilder::expect_aborted() { return expect_ += "aborted = true\n", *this; }
ScenarioBuilder& ScenarioBuilder::within(const std::string& d) {
  return expect_ += fmt::format("within = {}\n", toml_quote(d)), *this;
}

std::string ScenarioBuilder::toml() const {
  std::string out = head_;
  if (head_.find("\nlevel = ") == std::string::npos) out += "level = \"must\"\n";
  if (!tags_.empty()) out += fmt::format("tags = [{}]\n", fmt::join(tags_, ", "));
  out += request_ + upstream_ + steps_;
  if (!expect_.empty()) out += "[expect]\n" + expect_;
  return out;
}

Scenario ScenarioBuilder::build() const {
  auto r = load_scenario_text(toml(), "<ScenarioBuilder>", category_);
  if (!r.errors.empty()) throw std::invalid_argument(r.errors.front().str() + "\n" + toml());
  return std::move(r.scenarios.front());
}

}  // namespace upfault
