#pragma once
/// Scenarios written in C++: the same language as the TOML files, validated by the same loader.
///
///   auto s = upfault::ScenarioBuilder("dup-cl", "Two different Content-Length values")
///                .rfc("RFC 9112 §6.3").read_request()
///                .send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
///                .close_fin().expect_status(502).build();
///
/// Every step kind and check kind of the registries (scenarios/README.md) is there through
/// step() and expect(): `.step("idle_close", "\"50ms\"").expect("header_absent", "[\"Keep-Alive\"]")`.
/// So is the rest of the language: on_request() limits the step before it to some of a repeated
/// request's requests, and expect_or() and expect_stricter() start the [[expect.or]] and
/// [[expect.stricter]] outcomes, to which the expect…() calls after them belong:
///
///   .repeat(2, "keep-alive").read_request()
///   .close_rst().on_request(1)              // the first request: reset
///   .response(200, {}, "ok").on_request(2)  // the second: answered
///   .expect_status(200)                     // [expect]
///   .expect_or().expect_status(502)         // [[expect.or]]: another accepted outcome
///
/// Everything is written as TOML (toml()) and read by the loader at build(), as a file is.
#include <boost/assert/source_location.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault {

class ScenarioBuilder {
 public:
  /// `where` is the C++ line that builds it: the built scenario's `where`, so GoogleTest reports
  /// its failure there.
  ScenarioBuilder(std::string name, std::string summary, boost::source_location where = BOOST_CURRENT_LOCATION);

  ScenarioBuilder& rfc(const std::string& section);
  ScenarioBuilder& rationale(const std::string& why);
  ScenarioBuilder& level(Level level);
  /// What a failure risks for users (scenarios/README.md, "Risk"): the matrix ranks proxies by it.
  ScenarioBuilder& risk(Risk risk);
  ScenarioBuilder& category(const std::string& category);
  ScenarioBuilder& tag(const std::string& tag);
  ScenarioBuilder& request(const std::string& method, const std::string& path, const std::string& body = "");
  /// Sends the request `n` times, on connections as `connection` says ("close", "keep-alive", "pipelined").
  ScenarioBuilder& repeat(int n, const std::string& connection = "close");
  ScenarioBuilder& endpoint(Endpoint e);
  /// protocol = "https" (or "h2c", "h2"): what the proxy speaks to the upstream.
  ScenarioBuilder& protocol(UpstreamProtocol p);

  /// A step of any registered kind: its key and its TOML value, as in a [[upstream.steps]] entry
  /// (`step("hang", "true")`). An unknown key throws std::invalid_argument at once, with a
  /// did-you-mean; the value is checked by build(), as a file's is.
  ScenarioBuilder& step(std::string_view key, std::string toml_value);
  /// A check of any registered kind in [expect] (`expect("status", "[502, 504]")`); an unknown key
  /// throws as step() does.
  ScenarioBuilder& expect(std::string_view key, std::string toml_value);

  /// Steps, in order (see scenarios/README.md): step() with the TOML each stands for.
  ScenarioBuilder& read_head();
  ScenarioBuilder& read_request();
  ScenarioBuilder& send(const std::string& bytes);
  ScenarioBuilder& response(int status, const std::vector<Header>& headers = {}, const std::string& body = "");
  ScenarioBuilder& delay(const std::string& duration);
  ScenarioBuilder& dribble(const std::string& bytes, std::size_t chunk, const std::string& every);
  ScenarioBuilder& half_close();
  ScenarioBuilder& close_fin();
  ScenarioBuilder& close_rst();
  ScenarioBuilder& hang(const std::string& duration = "");
  /// Makes the step written last run only for the `n`th request of the scenario (repeat()), counted
  /// across its upstream connections: `on_request = n` in that [[upstream.steps]] entry. Throws
  /// std::invalid_argument before any step, or when that step has its on_request already.
  ScenarioBuilder& on_request(int n);
  /// … or only for these requests: `on_request = [1, 3]`.
  ScenarioBuilder& on_request(const std::vector<int>& requests);

  /// The expectation (all set checks must hold): expect() with the TOML each stands for.
  ScenarioBuilder& expect_status(std::vector<int> statuses);
  ScenarioBuilder& expect_status(int status) { return expect_status(std::vector<int>{status}); }
  ScenarioBuilder& expect_passthrough();
  ScenarioBuilder& expect_aborted();
  ScenarioBuilder& within(const std::string& duration);
  /// Starts an [[expect.or]] outcome: another one the scenario accepts. The checks written after
  /// it (expect(), expect_status(), …) are its own, until the next expect_or() or
  /// expect_stricter(). Throws std::invalid_argument when the outcome before it has no check.
  ScenarioBuilder& expect_or();
  /// Starts an [[expect.stricter]] outcome: one that does more than the RFC requires (the verdict
  /// is `stricter`, which passes), checks written as for expect_or().
  ScenarioBuilder& expect_stricter();

  /// The scenario, validated as a file would be; throws std::invalid_argument with the loader's
  /// message (file:line:col in the generated TOML) when something is wrong.
  [[nodiscard]] Scenario build() const;
  /// The TOML this builder stands for.
  [[nodiscard]] std::string toml() const;

 private:
  ScenarioBuilder& limit_step(const std::string& toml_value);
  ScenarioBuilder& outcome(const char* table);

  std::string head_;
  std::string request_;
  std::string repeat_;    // repeat and connection lines of [request]
  std::string endpoint_;  // "endpoint = …" of [upstream]
  std::string protocol_;  // "protocol = …" of [upstream]
  std::string steps_;
  bool step_limited_ = false;  // the last step has its on_request
  std::string expect_;         // the checks of [expect]
  /// The outcomes after it, in order: "or" or "stricter", and their checks.
  std::vector<std::pair<std::string, std::string>> outcomes_;
  boost::source_location where_;
  std::string category_ = "code";
  std::vector<std::string> tags_;
};

}  // namespace upfault
