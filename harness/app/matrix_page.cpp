// The conformance page from results files: what `upfault matrix` does after its runs, and all
// `upfault matrix --from DIR` does (CI runs one matrix job per proxy and builds the page from the
// collected DIR/results/*.json). One path, so the page never depends on where a proxy ran.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <set>

#include "matrix_page.hpp"
#include "options.hpp"
#include "upfault/matrix.hpp"

namespace upfault::cli {

namespace fs = std::filesystem;

namespace {

// More results files than this are not a matrix (and would hold up to 16 MiB each).
constexpr std::size_t kMaxResultsFiles = 100;

// The results files to read: every DIR/*.json, or those of the names given.
Result<std::vector<fs::path>> results_files(const fs::path& dir, const std::optional<std::vector<std::string>>& only) {
  std::vector<fs::path> out;
  if (only) {
    for (const auto& n : *only) out.push_back(dir / (n + ".json"));
    return out;
  }
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".json" && it->path().filename().string().front() != '.') out.push_back(it->path());
  if (ec) return problem(fmt::format("cannot read {}: {}", dir.string(), ec.message()));
  if (out.empty()) return problem(fmt::format("{} holds no results file (NAME.json)", dir.string()));
  if (out.size() > kMaxResultsFiles)
    return problem(fmt::format("{} holds {} results files, more than {}", dir.string(), out.size(), kMaxResultsFiles));
  std::sort(out.begin(), out.end());
  return out;
}

// The quirks of the profile a column ran with, when this upfault has that profile.
Result<void> add_notes(ProxyColumn& column, const fs::path& file) {
  if (column.profile.empty()) return {};
  auto profile = find_profile(column.profile, default_profile_dirs());
  if (!profile) {
    fmt::print(stderr, "upfault matrix: {}: no profile \"{}\" here, so its quirks.toml is not shown\n", file.string(),
               column.profile);
    return {};
  }
  auto notes = load_quirks(profile->dir);
  if (!notes) return notes.error();
  column.notes = std::move(*notes);
  // The config files the findings page quotes the upstream's line from (a file not read: none quoted).
  auto files = column.config;
  files.push_back("routes.toml");
  for (const auto& name : files) {
    std::ifstream in(profile->dir / name, std::ios::binary);
    if (!in) continue;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() <= (1 << 20)) column.config_text.emplace_back(name, std::move(text));
  }
  return {};
}

Result<std::vector<ProxyColumn>> read_columns(const std::vector<Scenario>& scenarios, const fs::path& dir,
                                              const std::optional<std::vector<std::string>>& only) {
  auto files = results_files(dir, only);
  if (!files) return files.error();
  std::vector<ProxyColumn> columns;
  std::set<std::string> names;
  for (const auto& f : *files) {
    auto column = load_results(f, scenarios);
    if (!column) return column.error();
    if (!names.insert(column->proxy.name).second)
      return problem(fmt::format("{}: a second results file of proxy \"{}\"", f.string(), column->proxy.name));
    if (auto noted = add_notes(*column, f); !noted) return noted.error();
    columns.push_back(std::move(*column));
  }
  return columns;
}

}  // namespace

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

RunRecord run_record(const ProxyProfile& profile, const MatrixColumn& column) {
  RunRecord r;
  r.profile = profile.dir.filename().string();
  for (const auto& t : profile.config_templates)
    if (t.is_relative() && t.filename().string().front() != '.') r.config.push_back(t.generic_string());
  r.date = today();
  r.died = column.died;
  r.repeat = column.repeat;
  r.repeat_completed = column.repeat_completed;
  return r;
}

ProxyColumn not_run_column(const MatrixColumn& column) {
  ProxyColumn c;
  c.proxy = column.proxy;
  c.skipped = column.skipped.empty() ? "not run" : column.skipped;
  return c;
}

int write_page(const std::vector<Scenario>& scenarios, const fs::path& results_dir, const fs::path& out,
               const std::optional<std::vector<std::string>>& only, std::vector<ProxyColumn> not_run) {
  auto columns = read_columns(scenarios, results_dir, only);
  if (!columns) {
    fmt::print(stderr, "upfault matrix: {}\n", columns.error().message);
    return kInputError;
  }
  const auto files = columns->size();
  for (auto& c : not_run) columns->push_back(std::move(c));
  std::error_code ec;
  fs::create_directories(out, ec);  // --from … --out NEW: made once the files are known good
  const auto date = today();
  bool ok = true;
  for (const auto& [name, text] : {std::pair{"README.md", matrix_markdown(scenarios, *columns, date)},
                                   std::pair{"index.html", matrix_html(scenarios, *columns, date)},
                                   std::pair{"FINDINGS.md", matrix_findings(scenarios, *columns, date)}}) {
    OutputFile f;
    auto written = f.open((out / name).string());
    if (written) written = f.write(text);
    if (!written) fmt::print(stderr, "upfault matrix: {}\n", written.error().message);
    ok = ok && written;
  }
  if (!ok) return kInputError;
  fmt::print("wrote {0}/README.md, {0}/index.html and {0}/FINDINGS.md from {1} results files in {2}\n", out.string(),
             files, results_dir.string());
  return kPassed;
}

int matrix_from(const std::vector<std::string>& paths, const fs::path& dir, const fs::path& out) {
  auto suite = load_suite(paths, {});
  if (!suite.errors.empty() || suite.scenarios.empty()) return kInputError;
  return write_page(suite.scenarios, dir / "results", out, std::nullopt, {});
}

}  // namespace upfault::cli
