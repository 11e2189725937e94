// Files upfault reads back are untrusted input: run reports (merge), baselines, files read whole.
// Each number is typed and range-checked before use, each count bounded, and text from a file is
// escaped for the medium it reaches (terminal, HTML, Markdown) — never an abort, a wrap, an
// endless loop or raw bytes on a terminal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "base/bounded_input.hpp"
#include "base/util.hpp"
#include "upfault/baseline.hpp"
#include "upfault/merge.hpp"
#include "upfault/rig.hpp"
#include "upfault/text.hpp"

namespace upfault {
namespace {

namespace json = boost::json;

// A whole run report of a suite of three scenarios, shard 1/1.
json::object run_report() {
  return json::parse(R"({"schema": "upfault-run/1",
    "proxy": {"name": "nginx", "version": "1.22.1", "url": "http://127.0.0.1:1"},
    "suite": {"fingerprint": "f00d", "total": 3, "shard": "1/1", "scenarios": 3, "read_timeout_ms": 1000,
              "connect_timeout_ms": 1000, "strict": false},
    "summary": {"wall_seconds": 1.5},
    "results": [{"index": 0, "scenario": "a", "category": "c", "verdict": "pass"},
                {"index": 1, "scenario": "b", "category": "c", "verdict": "fail"},
                {"index": 2, "scenario": "c", "category": "c", "verdict": "pass"}]})")
      .as_object();
}

Result<json::object> merge_edited(const std::function<void(json::object&)>& edit, MergeOptions options = {}) {
  auto r = run_report();
  edit(r);
  return merge_run_reports({{"r.json", json::serialize(r)}}, options);
}

void expect_refused(const std::function<void(json::object&)>& edit, std::string_view want) {
  Result<json::object> merged;
  ASSERT_NO_THROW(merged = merge_edited(edit));
  ASSERT_FALSE(merged) << "merged, but should be refused with: " << want;
  EXPECT_NE(merged.error().message.find(want), std::string::npos) << merged.error().message;
}

json::object& suite(json::object& r) { return r["suite"].as_object(); }
json::object& row(json::object& r, std::size_t i) { return r["results"].as_array()[i].as_object(); }

TEST(MergeReadBack, TheUneditedReportMerges) {
  auto merged = merge_edited([](json::object&) {});
  ASSERT_TRUE(merged) << merged.error();
  EXPECT_EQ(merged->at("results").as_array().size(), 3u);
}

// Numbers that are not exact counts (a negative, a fraction, 1e300) once made merge abort with an
// uncaught "not exact": each is a Problem naming the file and the field.
TEST(MergeReadBack, NumbersThatAreNotCountsAreRefusedWithTheirField) {
  for (json::value v : {json::value(-5), json::value(1e300), json::value(1.5), json::value("3")})
    expect_refused([v](json::object& r) { suite(r)["total"] = v; }, "r.json: suite.total is not a count");
  for (json::value v : {json::value(-1), json::value(1.5), json::value(1e300)})
    expect_refused([v](json::object& r) { row(r, 1)["index"] = v; }, "r.json: results[1].index is not a count");
  expect_refused([](json::object& r) { row(r, 2)["index"] = 3; }, "results[2].index is not a place in a suite of 3");
  expect_refused([](json::object& r) { suite(r)["scenarios"] = -3; }, "r.json: suite.scenarios is not a count");
  expect_refused([](json::object& r) { suite(r)["read_timeout_ms"] = 2.5; }, "suite.read_timeout_ms is not a count");
  expect_refused([](json::object& r) { suite(r)["total"] = std::uint64_t{1000000000000}; },
                 "suite.total is 1000000000000, over the");
  expect_refused([](json::object& r) { r["results"].as_array()[0] = 7; }, "r.json: results[0] is not an object");
  // A wall time no report holds is clamped, not converted in a way that throws.
  auto merged = merge_edited([](json::object& r) { r["summary"].as_object()["wall_seconds"] = -1e300; });
  ASSERT_TRUE(merged) << merged.error();
}

// A shard count sized a vector (1/4000000000: gigabytes) or a loop that never ended
// (4294967295/4294967295: the counter wrapped): shard counts are bounded as `run --shard` bounds them.
TEST(MergeReadBack, ShardCountsAreBoundedAsRunBoundsThem) {
  for (std::string shard : {"1/4000000000", "4294967295/4294967295", "10001/10001", "0/4", "5/4", "1/-4", "1/4x", "1"})
    expect_refused([shard](json::object& r) { suite(r)["shard"] = shard; },
                   "r.json: suite.shard takes I/N with 1 <= I <= N <= 10000");
  // The largest count run accepts is merged (partial): its missing shards are listed, in bounded time and memory.
  auto merged = merge_edited([](json::object& r) { suite(r)["shard"] = "1/10000"; }, {.partial = true});
  ASSERT_TRUE(merged) << merged.error();
  EXPECT_EQ(merged->at("suite").as_object().at("missing_shards").as_array().size(), 9999u);
}

// A shard that holds fewer rows than it was to judge is not whole, whether or not it says it was stopped.
TEST(MergeReadBack, AShardMissingRowsIsNotWholeEvenWithoutTheInterruptedMark) {
  expect_refused([](json::object& r) { r["results"].as_array().pop_back(); },
                 "r.json holds 2 of its 3 scenarios: merge only whole shards, or --partial");
  expect_refused([](json::object& r) { r["interrupted"] = 2; }, "(the run was stopped by a signal)");
  auto partial = merge_edited([](json::object& r) { r["results"].as_array().pop_back(); }, {.partial = true});
  ASSERT_TRUE(partial) << partial.error();
  EXPECT_TRUE(partial->at("suite").as_object().contains("incomplete"));
}

// A shard whose counts were lowered to match the rows it lacks still cannot pass for whole: every
// shard given, the rows must make up the suite.
TEST(MergeReadBack, ShardsThatDoNotMakeUpTheSuiteAreRefused) {
  const auto lowered = [](json::object& r) {
    r["results"].as_array().pop_back();
    suite(r)["scenarios"] = 2;
  };
  expect_refused(lowered, "the shards hold 2 of the suite's 3 scenarios, though none says it lacks any");
  auto partial = merge_edited(lowered, {.partial = true});
  ASSERT_TRUE(partial) << partial.error();
  EXPECT_NE(json::serialize(partial->at("suite")).find("the shards hold 2 of the suite's 3 scenarios"),
            std::string::npos);
}

// Each row's fields are of their type, so the merged report keeps the schema the reports read.
TEST(MergeReadBack, RowFieldsOfTheWrongTypeAreRefused) {
  expect_refused([](json::object& r) { row(r, 0)["scenario"] = 7; }, "results[0].scenario is not a string");
  expect_refused([](json::object& r) { row(r, 0)["scenario"] = "evil\u001b[31m"; },
                 "results[0].scenario is not a scenario name");
  expect_refused([](json::object& r) { row(r, 0)["status"] = "200"; }, "results[0].status is not a count");
  expect_refused([](json::object& r) { row(r, 0)["status"] = 1000; }, "results[0].status is 1000, over the 999");
  expect_refused([](json::object& r) { row(r, 0)["elapsed_ms"] = -1e300; }, "results[0].elapsed_ms is not a count");
  expect_refused([](json::object& r) { row(r, 0).erase("verdict"); }, "results[0].verdict is missing");
  expect_refused([](json::object& r) { row(r, 0)["verdict"] = "owned"; }, "results[0].verdict is not pass, stricter");
  expect_refused([](json::object& r) { row(r, 0)["reason"] = 5; }, "results[0].reason is not a string");
  // A report's "ended" is one of the endings upfault writes (a baseline compares it as written).
  expect_refused([](json::object& r) { row(r, 1)["ended"] = "exploded"; },
                 "results[1].ended is not complete, closed-early");
  auto fine = merge_edited([](json::object& r) { row(r, 0)["status"] = nullptr; });
  ASSERT_TRUE(fine) << fine.error();
}

// A report of `run --repeat 3`: row "b" varied (fail 2 runs, pass 1).
void repeated(json::object& r) {
  r["repeat"] = {{"runs", 3}, {"completed", 3}};
  row(r, 1)["runs"] = json::parse(R"([{"verdict": "fail", "reason": "x", "count": 2},
                                      {"verdict": "pass", "reason": "y", "count": 1}])");
  row(r, 1)["unstable"] = true;
}

// The outcomes of --repeat are read as the JUnit file and the summary read them: checked, and kept,
// with the report's repeat block.
TEST(MergeReadBack, RepeatedOutcomesAreCheckedAndKept) {
  auto merged = merge_edited(repeated);
  ASSERT_TRUE(merged) << merged.error();
  EXPECT_EQ(json::serialize(merged->at("repeat")), R"({"runs":3,"completed":3})");
  EXPECT_EQ(merged->at("results").as_array()[1].as_object().at("runs").as_array().size(), 2u);
  EXPECT_EQ(merged->at("summary").as_object().at("unstable"), json::value(1));
  const auto with = [](std::function<void(json::object&)> edit) {
    return [edit](json::object& r) { repeated(r), edit(r); };
  };
  auto runs = [](json::object& r) -> json::array& { return row(r, 1)["runs"].as_array(); };
  expect_refused(with([&](auto& r) { runs(r)[0].as_object()["count"] = "2"; }),
                 "r.json: results[1].runs[0].count is not a count");
  expect_refused(with([&](auto& r) { runs(r)[0].as_object()["count"] = 0; }), "results[1].runs[0].count is 0");
  expect_refused(with([&](auto& r) { runs(r)[1].as_object()["count"] = 5000; }),
                 "results[1].runs[1].count is 5000, over the 1000");
  expect_refused(with([&](auto& r) { runs(r)[1].as_object()["verdict"] = "maybe"; }),
                 "results[1].runs[1].verdict is not pass");
  expect_refused(with([&](auto& r) { runs(r)[1] = 3; }), "results[1].runs[1] is not an object");
  expect_refused(with([](auto& r) { row(r, 1)["runs"] = "fail 2/3"; }), "results[1].runs is not an array of 1 to");
  expect_refused(with([](auto& r) { row(r, 1)["unstable"] = "yes"; }), "results[1].unstable is not a boolean");
  expect_refused(with([](auto& r) { r["repeat"] = 3; }), "r.json: repeat is not an object");
  expect_refused(with([](auto& r) { r["repeat"].as_object()["completed"] = 4; }), "repeat.completed is 4, over the 3");
  // Shards of different --repeat are not one run.
  auto a = run_report(), b = run_report();
  repeated(a);
  suite(a)["shard"] = "1/2";
  suite(b)["shard"] = "2/2";
  const auto mixed = merge_run_reports({{"a.json", json::serialize(a)}, {"b.json", json::serialize(b)}});
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message.find("--repeat 3"), std::string::npos) << mixed.error().message;
}

// What merge writes, merge reads: a merged report is a run report of the whole suite.
TEST(MergeReadBack, AMergedReportMergesAgain) {
  auto once = merge_edited([](json::object&) {});
  ASSERT_TRUE(once) << once.error();
  auto twice = merge_run_reports({{"merged.json", json::serialize(*once)}});
  ASSERT_TRUE(twice) << twice.error();
  EXPECT_EQ(twice->at("results").as_array().size(), 3u);
}

// Text a report holds reaches a message escaped: two proxies' names, one with a terminal escape.
TEST(MergeReadBack, MessagesQuoteReportTextEscaped) {
  auto a = run_report(), b = run_report();
  b["proxy"].as_object()["name"] = "ngi\x1b[31mnx";
  auto merged = merge_run_reports({{"a.json", json::serialize(a)}, {"b.json", json::serialize(b)}});
  ASSERT_FALSE(merged);
  EXPECT_NE(merged.error().message.find("ngi\\x1b[31mnx"), std::string::npos) << merged.error().message;
  EXPECT_EQ(merged.error().message.find('\x1b'), std::string::npos);
}

// Damaged bytes of a valid report: a merged report or a Problem, never an exception.
TEST(MergeReadBack, DamagedBytesNeverThrow) {
  const auto text = json::serialize(run_report());
  std::uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::string b = text;
    for (int k = 0; k < 3; ++k) {
      x = x * 1664525u + 1013904223u;
      b[x % b.size()] = "0123456789-.e+\"{}[],:"[(x >> 16) % 21];
    }
    EXPECT_NO_THROW((void)merge_run_reports({{"r.json", b}}));
  }
}

struct TempFile {
  explicit TempFile(const std::string& text) {
    std::string pattern = (std::filesystem::temp_directory_path() / "upfault-readback-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    ::close(fd);
    path = pattern;
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string path;
};

// A baseline's outcomes are the ones upfault writes: anything else (an unknown word, a terminal
// escape, a megabyte of text) is refused when read, never printed or called "better".
TEST(BaselineReadBack, OutcomesAndNamesAreValidatedWhenRead) {
  const auto load = [](std::string scenarios) {
    TempFile f(R"({"schema": "upfault-baseline/1", "proxy": "nginx", "scenarios": )" + scenarios + "}");
    return load_baseline(f.path);
  };
  auto good = load(R"({"a": "pass", "b": "fail: 200 complete", "c": "fail: no status reset", "d": "not-run",
                      "e": "stricter", "f": "error", "g": "fail: 502 closed-early"})");
  ASSERT_TRUE(good) << good.error();
  EXPECT_EQ(good->outcome.size(), 6u) << "\"not-run\" is read, and records nothing";
  for (std::string bad :
       std::vector<std::string>{R"("passed")", R"("fail: 2000 complete")", R"("fail: 200 exploded")", R"("fail:")",
                                R"("\u001b[31mpass")", R"(7)", "\"" + std::string(1 << 20, 'x') + "\""}) {
    auto b = load(R"({"a": )" + bad + "}");
    ASSERT_FALSE(b) << bad.substr(0, 40);
    EXPECT_NE(b.error().message.find("the outcome of a is not one upfault records"), std::string::npos)
        << b.error().message;
    EXPECT_LT(b.error().message.size(), 600u);
    EXPECT_EQ(b.error().message.find('\x1b'), std::string::npos);
  }
  auto name = load(R"({"\u001b]0;owned\u0007": "pass"})");
  ASSERT_FALSE(name);
  EXPECT_NE(name.error().message.find("is not a scenario name"), std::string::npos) << name.error().message;
  EXPECT_EQ(name.error().message.find('\x1b'), std::string::npos);
}

// One escaping function per medium, each tested with what would break it.
TEST(Escaping, TerminalTextHasNoControlBytes) {
  EXPECT_EQ(safe_text("a\x1b[31mb\x07\n", false), "a\\x1b[31mb\\x07\\x0a");
  EXPECT_EQ(safe_text("caf\xc3\xa9 \xff", false), "caf\xc3\xa9 \\xff");
  EXPECT_EQ(safe_text("\xc2\x9b"
                      "2J",
                      false),
            "\\xc2\\x9b2J");  // C1 CSI
}

TEST(Escaping, MarkupTextIsTextInHtml) {
  EXPECT_EQ(markup_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(markup_escape("\x1b[2J"), "\\x1b[2J");
}

TEST(Escaping, MarkdownTextStaysInItsCellAndMakesNoMarkup) {
  EXPECT_EQ(markdown_escape("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
  EXPECT_EQ(markdown_escape("a | b"), "a \\| b");
  EXPECT_EQ(markdown_escape("![img](http://x/y.png) [l](u) `code`"),
            "!\\[img\\](http://x/y.png) \\[l\\](u) \\`code\\`");
  EXPECT_EQ(markdown_escape("line\nbreak"), "line break");
  EXPECT_EQ(markdown_escape("\x1b[31mred"), "\\\\x1b\\[31mred");
  EXPECT_EQ(markdown_escape("**bold**"), "\\*\\*bold\\*\\*");
  // A URL stays a URL (GFM makes no emphasis inside words).
  EXPECT_EQ(markdown_escape("(https://x.test/Docs_ModProxy) proxy_read_timeout"),
            "(https://x.test/Docs_ModProxy) proxy_read_timeout");
}

// read_bounded reads no more than limit + 1 bytes, whatever the file's size (it once read 64 KiB blocks).
TEST(BoundedRead, ReadsAtMostOneByteOverTheLimit) {
  TempFile f(std::string(1 << 20, 'x'));
  const auto rchar = [] {
    std::ifstream io("/proc/self/io");
    std::string key;
    std::uint64_t value = 0;
    while (io >> key >> value)
      if (key == "rchar:") return value;
    return std::uint64_t{0};
  };
  const auto before = rchar();
  auto r = read_bounded(f.path, 100);
  const auto after = rchar();
  ASSERT_FALSE(r);
  // /proc/self/io itself is read in between: a few hundred bytes, never a 64 KiB block.
  EXPECT_LT(after - before, 4096u) << "read_bounded read " << after - before << " bytes for a limit of 100";
  auto whole = read_bounded(f.path, 1 << 20);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->size(), std::size_t{1} << 20);
}

TEST(Authority, IPv6InBrackets) {
  EXPECT_EQ(authority("::1", 8080), "[::1]:8080");
  EXPECT_EQ(authority("127.0.0.1", 80), "127.0.0.1:80");
}

}  // namespace
}  // namespace upfault
