#pragma once
/// upfault scenarios as GoogleTest tests (link upfault::gtest).
///
/// Each scenario becomes its own test, named <category>.<scenario> ('-' becomes '_'), so
/// --gtest_filter, sharding (GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX), --gtest_output=xml and
/// ctest's gtest_discover_tests work unchanged. Before the first test (a GoogleTest environment),
/// the scenarios of the selected tests run once, `jobs` at a time, through one fake upstream and
/// one proxy, with the runner `upfault run` uses; each test then reports its scenario's verdict.
/// A failure reads as `upfault run` prints it (the verdict and its reason, and what the proxy's
/// quirks.toml says), at the scenario's [expect] line, or at the ScenarioBuilder that made it.
#include <filesystem>
#include <string>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault::gtest {

struct Options {
  std::string proxy;         ///< a profile to start (name or profile.toml path) …
  std::string proxy_url;     ///< … or a running proxy, e.g. "127.0.0.1:8080"
  EndpointPorts ports;       ///< the fake upstream's ports (fix them when the proxy is yours)
  ProxyTimeouts timeouts{};  ///< with proxy_url; a profile brings its own
  /// Scenarios in flight at once, as `upfault run --jobs`. With 1 they run one after another, and
  /// a proxy upfault started that crashes is restarted, the crash pinned on its scenario.
  unsigned jobs = 64;
};

/// Registers every scenario found under `paths` (files or directories). Load errors are
/// registered as failing tests, so they cannot go unnoticed. Returns how many tests were added.
int register_scenarios(const std::vector<std::filesystem::path>& paths, const Options& options);

/// Registers scenarios written in code (see upfault/builder.hpp).
int register_scenarios(std::vector<Scenario> scenarios, const Options& options);

}  // namespace upfault::gtest
