// libFuzzer target: any bytes as a file upfault reads back — a run report given to `upfault merge`,
// a bench report given to `upfault merge`, a results file given to `upfault matrix --from`, a
// baseline given to `--baseline` — the first byte choosing which (0xF0 and above: a baseline). Nothing may throw or
// crash; what merges must serialize as JSON, and the reports and pages made from it hold no control byte and no raw
// markup from the file.
#include <fmt/format.h>
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "upfault/baseline.hpp"
#include "upfault/bench.hpp"
#include "upfault/loader.hpp"
#include "upfault/matrix.hpp"
#include "upfault/merge.hpp"
#include "upfault/report.hpp"

namespace {

const std::vector<upfault::Scenario>& suite() {
  static const auto loaded = [] {
    std::vector<upfault::Scenario> out;
    for (const char* name : {"a", "b", "c"}) {
      auto r = upfault::load_scenario_text(
          fmt::format("name = \"{}\"\nsummary = \"s\"\nrfc = \"RFC 9110 §15.6.3\"\nlevel = \"must\"\n"
                      "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\nsend = \"x\"\n[expect]\nstatus = 502\n",
                      name),
          "readback.toml", "fuzz");
      if (r.scenarios.size() != 1) std::abort();  // the target's own scenarios must load
      out.push_back(r.scenarios.front());
    }
    return out;
  }();
  return loaded;
}

void require_clean_text(std::string_view text) {
  for (char c : text) {
    const auto ch = static_cast<unsigned char>(c);
    if ((ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7f) std::abort();
  }
}

// No tag the file wrote reaches a page as markup: the fuzzer's bytes may hold "<script"; the page
// holds `own` scripts of its own.
void require_no_markup_from(std::string_view page, std::size_t own = 0) {
  std::size_t found = 0;
  for (auto at = page.find("<scrip"); at != std::string_view::npos; at = page.find("<scrip", at + 1)) ++found;
  if (found != own) std::abort();
}

void run_reports(std::string_view text) {
  try {
    auto merged = upfault::merge_run_reports({{"fuzz.json", std::string(text)}}, {.partial = true});
    if (!merged) return require_clean_text(merged.error().message);
    (void)boost::json::parse(boost::json::serialize(*merged));
    require_clean_text(upfault::junit_from_report(*merged));
    const auto summary = upfault::summary_from_report(*merged);
    require_clean_text(summary);
    require_no_markup_from(summary);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    std::abort();  // merge must return a Problem, never throw
  }
}

void bench_reports(std::string_view text) {
  try {
    auto merged = upfault::merge_bench_reports({std::string(text)}, /*partial=*/true);
    if (!merged) return require_clean_text(merged.error().message);
    (void)boost::json::parse(*merged);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    std::abort();
  }
}

void results_file(std::string_view text) {
  try {
    auto column = upfault::parse_results(text, suite(), "results/fuzz.json");
    if (!column) return require_clean_text(column.error().message);
    const std::vector<upfault::ProxyColumn> columns{*column};
    const auto markdown = upfault::matrix_markdown(suite(), columns, "2026-01-01");
    require_clean_text(markdown);
    require_no_markup_from(markdown);
    const auto html = upfault::matrix_html(suite(), columns, "2026-01-01");
    require_no_markup_from(html, 1);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    std::abort();
  }
}

// A baseline read, then a report of the suite held to it: the console, JUnit and summary text
// made from what the file says hold no control byte and no markup from it.
void baseline_file(std::string_view text) {
  try {
    auto b = upfault::parse_baseline(text, "fuzz.json");
    if (!b) return require_clean_text(b.error().message);
    std::vector<upfault::ScenarioResult> results;
    for (const auto& s : suite()) {
      upfault::ScenarioResult r;
      r.scenario = std::make_shared<const upfault::Scenario>(s);
      r.verdict = {s.name == "b" ? upfault::VerdictKind::fail : upfault::VerdictKind::pass, "r"};
      results.push_back(std::move(r));
    }
    auto report = upfault::report_object({"p", "1", "u"}, results, 1.0);
    (void)upfault::apply_baseline(report, *b, "fuzz.json");
    require_clean_text(upfault::baseline_console(report));
    require_clean_text(upfault::junit_from_report(report));
    const auto summary = upfault::summary_from_report(report);
    require_clean_text(summary);
    require_no_markup_from(summary);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] >= 0xF0) return baseline_file(text), 0;
  switch (data[0] % 3) {
    case 0: run_reports(text); break;
    case 1: bench_reports(text); break;
    default: results_file(text); break;
  }
  return 0;
}
