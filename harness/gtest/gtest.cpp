// upfault::gtest: every scenario a GoogleTest test, against one upstream and one proxy.
#include "upfault/gtest.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "upfault/loader.hpp"
#include "upfault/proxy.hpp"
#include "upfault/rig.hpp"
#include "upfault/runner.hpp"

namespace upfault::gtest {

namespace {

std::string identifier(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

// The shared fake upstream and proxy, started once for all registered scenarios.
class World : public ::testing::Environment {
 public:
  World(std::vector<Scenario> scenarios, Options options)
      : scenarios_(std::move(scenarios)), options_(std::move(options)) {}

  void SetUp() override {
    RigOptions rio;
    rio.upstream.ports = options_.ports;
    rio.upstream.timeouts = options_.timeouts;
    if (!options_.proxy.empty()) {
      auto profile = find_profile(options_.proxy, default_profile_dirs());
      if (!profile) {
        setup_error_ = profile.error().message;
        return;
      }
      rio.profile = std::move(*profile);
    } else {
      auto proxy = parse_loopback_address(options_.proxy_url, /*allow_remote=*/false);
      if (!proxy) {
        setup_error_ = proxy.error().message;
        return;
      }
      rio.proxy = *proxy;
    }
    auto rig = Rig::start(scenarios_, std::move(rio));
    if (!rig) {
      setup_error_ = rig.error().message;
      return;
    }
    rig_ = std::move(*rig);
    run_.timeouts = rig_->timeouts();
    run_.jobs = 1;
    run_.default_deadline = default_deadline(run_.timeouts);
    run_.proxy_host = rig_->proxy_host();
  }

  [[nodiscard]] const std::vector<Scenario>& scenarios() const { return scenarios_; }

  void TearDown() override {
    if (rig_) rig_->stop();
  }

  void run(const Scenario& s) {
    ASSERT_EQ(setup_error_, "") << "the proxy under test could not be started";
    if (auto* process = rig_->process()) {
      ASSERT_TRUE(process->alive()) << "the proxy is gone: " << process->exit_description();
    }
    run_.proxy_port = rig_->proxy_port();
    auto r = run_scenarios({s}, rig_->upstream(), run_);
    ASSERT_EQ(r.size(), 1u);
    const auto& v = r[0].verdict;
    ASSERT_NE(v.kind, VerdictKind::error) << v.reason;
    ::testing::Test::RecordProperty("upfault_verdict", std::string(to_string(v.kind)));
    EXPECT_NE(v.kind, VerdictKind::fail) << s.category << "/" << s.name << " [" << to_string(s.level) << ", " << s.rfc
                                         << "]: " << v.reason;
  }

 private:
  std::vector<Scenario> scenarios_;
  Options options_;
  std::unique_ptr<Rig> rig_;
  RunOptions run_;
  std::string setup_error_;
};

class ScenarioTest : public ::testing::Test {
 public:
  ScenarioTest(World* world, const Scenario* scenario) : world_(world), scenario_(scenario) {}
  void TestBody() override { world_->run(*scenario_); }

 private:
  World* world_;
  const Scenario* scenario_;
};

}  // namespace

int register_scenarios(std::vector<Scenario> scenarios, const Options& options) {
  // GoogleTest owns the environment, and the environment owns the scenarios the tests point at.
  const auto count = scenarios.size();
  auto* world = new World(std::move(scenarios), options);
  ::testing::AddGlobalTestEnvironment(world);
  for (const auto& s : world->scenarios()) {
    const Scenario* sp = &s;
    ::testing::RegisterTest(identifier(s.category).c_str(), identifier(s.name).c_str(), nullptr, nullptr,
                            s.where.file.c_str(), 1,
                            [world, sp]() -> ::testing::Test* { return new ScenarioTest(world, sp); });
  }
  return static_cast<int>(count);
}

int register_scenarios(const std::vector<std::filesystem::path>& paths, const Options& options) {
  auto loaded = load_scenarios(paths);
  for (const auto& e : loaded.errors) {
    auto message = e.str();
    ::testing::RegisterTest("upfault_load", identifier(e.where.file + "_" + std::to_string(e.where.line)).c_str(),
                            nullptr, nullptr, e.where.file.c_str(), e.where.line, [message]() -> ::testing::Test* {
                              struct Broken : ::testing::Test {
                                explicit Broken(std::string m) : m_(std::move(m)) {}
                                void TestBody() override { FAIL() << m_; }
                                std::string m_;
                              };
                              return new Broken(message);
                            });
  }
  return register_scenarios(std::move(loaded.scenarios), options) + static_cast<int>(loaded.errors.size());
}

}  // namespace upfault::gtest
