// upfault::gtest: every scenario a GoogleTest test. When the environment is set up, the scenarios
// of the tests GoogleTest selected (--gtest_filter, sharding) run once, together, through the same
// runner as `upfault run`; each test then reports its scenario's verdict as the CLI prints it.
#include "upfault/gtest.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <utility>

#include "upfault/loader.hpp"
#include "upfault/matrix.hpp"
#include "upfault/report.hpp"
#include "upfault/rig.hpp"
#include "upfault/runner.hpp"

namespace upfault::gtest {

namespace {

std::string identifier(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

// Where a scenario's failure is reported: the [expect] table of its file, or the C++ line that
// built it (a ScenarioBuilder's outcomes are in generated TOML, which no one can open).
SourceLocation failure_site(const Scenario& s) {
  const auto& accept = s.expect.accept;
  if (!accept.empty() && accept.front().where.file == s.where.file && accept.front().where.line > 0)
    return accept.front().where;
  return s.where;
}

// A failure at `at` that says `text` and nothing else (ADD_FAILURE_AT would add a line "Failed").
void fail_at(const SourceLocation& at, const std::string& text) {
  GTEST_MESSAGE_AT_(at.file.c_str(), at.line, text.c_str(), ::testing::TestPartResult::kNonFatalFailure);
}

// The suite's options as `upfault run` makes them of its command line: the profile (with what its
// quirks.toml says of a failure) or the address, the timeouts, the jobs, the client's deadline.
Result<SuiteOptions> suite_options(const Options& o) {
  SuiteOptions so;
  so.ports = o.ports;
  so.run.jobs = o.jobs;
  if (!o.proxy.empty()) {
    auto profile = find_profile(o.proxy, default_profile_dirs());
    if (!profile) return profile.error();
    auto notes = load_quirks(profile->dir);
    if (!notes) return notes.error();
    so.run.annotate = [notes = std::move(*notes)](const ScenarioResult& r) { return notes.note(r); };
    so.profile = std::move(*profile);
    so.run.timeouts = so.profile->timeouts;
  } else {
    auto proxy = parse_loopback_address(o.proxy_url, /*allow_remote=*/false);
    if (!proxy) return proxy.error();
    const HostPort address = *proxy;
    so.proxy_host = address.host;
    so.proxy_port = address.port;
    so.run.timeouts = o.timeouts;
  }
  so.run.default_deadline = default_deadline(so.run.timeouts);
  return so;
}

// The scenarios registered here, their tests, and the results of the run that the environment's
// SetUp makes of the selected ones.
class World : public ::testing::Environment {
 public:
  World(std::vector<Scenario> scenarios, Options options)
      : scenarios_(std::move(scenarios)), options_(std::move(options)) {}

  [[nodiscard]] const std::vector<Scenario>& scenarios() const { return scenarios_; }
  void add_test(const ::testing::TestInfo* test, const Scenario* s) { tests_.emplace_back(test, s); }

  void SetUp() override {
    results_.clear();
    setup_error_.clear();
    proxy_died_.clear();
    const auto selected = this->selected();
    if (selected.empty()) return;  // nothing to start
    auto so = suite_options(options_);
    if (!so) {
      setup_error_ = so.error().message;
      return;
    }
    auto run = run_suite(selected, *so);
    setup_error_ = run.setup_error;
    for (auto& r : run.results) results_.emplace(r.scenario->name, std::move(r));
    if (!run.proxy_died.empty()) {
      proxy_died_ = run.proxy_died;
      ADD_FAILURE() << "upfault: " << run.proxy_died << "\nverdicts after that are not about the proxy's behaviour";
    }
  }

  // The test of `s`: its verdict, failed as `upfault run` prints it, at the scenario's source.
  void report(const Scenario& s) const {
    const auto at = failure_site(s);
    if (!setup_error_.empty()) {
      fail_at(at, fmt::format("upfault: the proxy under test could not be started: {}", setup_error_));
      return;
    }
    const auto found = results_.find(s.name);
    if (found == results_.end()) {
      fail_at(at, fmt::format("upfault: no verdict for {}/{}: the run stopped before it finished", s.category, s.name));
      return;
    }
    const auto& r = found->second;
    ::testing::Test::RecordProperty("upfault_verdict", std::string(to_string(r.verdict.kind)));
    if (r.verdict.kind != VerdictKind::fail && r.verdict.kind != VerdictKind::error) return;
    auto text = format_result(r, /*colour=*/false, /*verbose=*/false);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!proxy_died_.empty()) text += "\n(the proxy died during the run)";
    fail_at(at, text);
  }

 private:
  // The scenarios of the registered tests that GoogleTest will run, in registration order.
  [[nodiscard]] std::vector<Scenario> selected() const {
    std::set<const ::testing::TestInfo*> chosen;
    const auto* unit = ::testing::UnitTest::GetInstance();
    for (int i = 0; i < unit->total_test_suite_count(); ++i) {
      const auto* suite = unit->GetTestSuite(i);
      for (int j = 0; j < suite->total_test_count(); ++j)
        if (const auto* test = suite->GetTestInfo(j); test->should_run()) chosen.insert(test);
    }
    std::vector<Scenario> out;
    for (const auto& [test, s] : tests_)
      if (chosen.count(test)) out.push_back(*s);
    return out;
  }

  std::vector<Scenario> scenarios_;
  Options options_;
  std::vector<std::pair<const ::testing::TestInfo*, const Scenario*>> tests_;
  std::map<std::string, ScenarioResult> results_;
  std::string setup_error_;
  std::string proxy_died_;
};

class ScenarioTest : public ::testing::Test {
 public:
  ScenarioTest(const World* world, const Scenario* scenario) : world_(world), scenario_(scenario) {}
  void TestBody() override { world_->report(*scenario_); }

 private:
  const World* world_;
  const Scenario* scenario_;
};

// A file that did not load: a test that fails with the loader's words, at the problem.
class LoadErrorTest : public ::testing::Test {
 public:
  explicit LoadErrorTest(LoadError e) : error_(std::move(e)) {}
  void TestBody() override { fail_at(error_.where, error_.str()); }

 private:
  LoadError error_;
};

}  // namespace

int register_scenarios(std::vector<Scenario> scenarios, const Options& options) {
  // GoogleTest owns the environment, and the environment owns the scenarios the tests point at.
  const auto count = scenarios.size();
  auto* world = new World(std::move(scenarios), options);
  ::testing::AddGlobalTestEnvironment(world);
  for (const auto& s : world->scenarios()) {
    const Scenario* sp = &s;
    auto* test = ::testing::RegisterTest(identifier(s.category).c_str(), identifier(s.name).c_str(), nullptr, nullptr,
                                         s.where.file.c_str(), std::max(s.where.line, 1),
                                         [world, sp]() -> ::testing::Test* { return new ScenarioTest(world, sp); });
    world->add_test(test, sp);
  }
  return static_cast<int>(count);
}

int register_scenarios(const std::vector<std::filesystem::path>& paths, const Options& options) {
  auto loaded = load_scenarios(paths);
  for (const auto& e : loaded.errors) {
    ::testing::RegisterTest("upfault_load", identifier(e.where.file + "_" + std::to_string(e.where.line)).c_str(),
                            nullptr, nullptr, e.where.file.c_str(), e.where.line,
                            [e]() -> ::testing::Test* { return new LoadErrorTest(e); });
  }
  return register_scenarios(std::move(loaded.scenarios), options) + static_cast<int>(loaded.errors.size());
}

}  // namespace upfault::gtest
