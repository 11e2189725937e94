// The broken-input corpus (tests/data/broken): every file gives one clear error with
// file:line:col and the message its first line promises; nothing crashes; good files still load.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "upfault/loader.hpp"

using namespace upfault;
namespace fs = std::filesystem;

namespace {
const fs::path kBroken = UPFAULT_TESTS_DIR "/data/broken";

std::string promised(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  const std::string tag = "# expect: ";
  return line.rfind(tag, 0) == 0 ? line.substr(tag.size()) : "";
}
}  // namespace

TEST(BrokenInputs, EachFileGivesItsLocatedError) {
  auto r = load_scenarios({kBroken});
  EXPECT_TRUE(r.scenarios.empty()) << r.scenarios.size() << " broken files loaded as scenarios";
  std::map<std::string, std::vector<LoadError>> by_file;
  for (const auto& e : r.errors) by_file[fs::path(e.where.file).filename().string()].push_back(e);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kBroken)) {
    if (entry.path().extension() != ".toml") continue;
    ++files;
    const auto name = entry.path().filename().string();
    ASSERT_TRUE(by_file.count(name)) << name << " gave no error";
    const auto& first = by_file[name].front();
    EXPECT_GT(first.where.line, 0) << first.str();
    EXPECT_GT(first.where.column, 0) << first.str();
    if (entry.is_symlink()) {
      EXPECT_NE(first.message.find("outside the suite directory"), std::string::npos) << first.str();
      continue;
    }
    auto want = promised(entry.path());
    ASSERT_FALSE(want.empty()) << name << " has no '# expect:' line";
    bool found = false;
    for (const auto& e : by_file[name]) found |= e.message.find(want) != std::string::npos;
    EXPECT_TRUE(found) << name << ": wanted \"" << want << "\", got: " << first.str();
  }
  EXPECT_GE(files, 30);
}

TEST(BrokenInputs, GoodFilesBesideThemStillLoad) {
  auto r = load_scenarios({UPFAULT_TESTS_DIR "/data/good", kBroken});
  ASSERT_EQ(r.scenarios.size(), 1u);
  EXPECT_EQ(r.scenarios[0].name, "good-one");
}
