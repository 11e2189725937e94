#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "matrix_page.hpp"
#include "options.hpp"
#include "repeat.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/matrix.hpp"
#include "upfault/repeat.hpp"
#include "upfault/report.hpp"
#include "upfault/rig.hpp"
#include "upfault/runner.hpp"

namespace upfault::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNeverReady = "never became ready";  // a column whose proxy could not be started

struct MatrixArgs {
  std::vector<std::string> paths;
  std::string proxies = "all";
  std::string out = "docs/conformance";
  unsigned parallel = 4;
  // One scenario at a time per proxy instance: a proxy's upstream keep-alive pool can hand one
  // scenario's request to a connection another scenario opened (nghttpx reuses one the upstream
  // already closed), and with scenarios in parallel through one instance that race lands on a
  // random other scenario. Lanes run several instances instead, each one scenario at a time.
  unsigned lanes = 4;
  unsigned repeat = 1;  // runs of the suite per proxy: each cell keeps every outcome
};

// The program a profile runs, found as a file or on PATH.
bool installed(const ProxyProfile& p) {
  auto rendered =
      render_template(p.command.front(), {{"bindir", tool_dir().string()}, {"profile_dir", p.dir.string()}});
  const std::string& program = rendered ? *rendered : p.command.front();
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');)
    if (::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  return false;
}

// Writes every file of the page, each checked; false (and the reason on stderr) when any failed.
bool write_all(const std::vector<std::pair<fs::path, std::string>>& files) {
  bool ok = true;
  for (const auto& [path, text] : files) {
    OutputFile f;
    auto written = f.open(path.string());
    if (written) written = f.write(text);
    if (!written) {
      fmt::print(stderr, "upfault matrix: {}\n", written.error().message);
      ok = false;
    }
  }
  return ok;
}

// The output directory must be writable before an hour of runs, not after.
bool writable(const std::string& out) {
  std::error_code ec;
  fs::create_directories(fs::path(out) / "results", ec);
  OutputFile probe;
  Result<void> written =
      ec ? problem(ec.message()) : probe.open((fs::path(out) / "results" / ".upfault-write-test").string());
  if (written) written = probe.write("");
  if (!written) {
    fmt::print(stderr, "upfault matrix: cannot write to {}: {}\n", out, written.error().message);
    return false;
  }
  fs::remove(fs::path(out) / "results" / ".upfault-write-test", ec);
  return true;
}

// The proxies to run: --proxies, their profiles and quirks; a column each. False on a bad name.
struct Plan {
  std::vector<std::string> names;
  std::vector<MatrixColumn> columns;
  std::vector<ProxyProfile> profiles;
  std::vector<bool> runnable;
};

bool plan_columns(const MatrixArgs& a, Plan& plan) {
  const auto dirs = default_profile_dirs();
  auto& names = plan.names;
  if (a.proxies == "all") {
    for (const auto& n : list_profiles(dirs))
      if (n != "blind" && n != "lenient") names.push_back(n);  // wrong on purpose: name them to include them
  } else {
    std::istringstream in(a.proxies);
    for (std::string n; std::getline(in, n, ',');)
      if (!n.empty()) names.push_back(n);
  }
  plan.columns.resize(names.size());
  plan.profiles.resize(names.size());
  plan.runnable.assign(names.size(), false);
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto& column = plan.columns[i];
    column.proxy.name = names[i];
    auto p = find_profile(names[i], dirs);
    if (!p) {
      fmt::print(stderr, "upfault matrix: {}\n", p.error().message);
      return false;
    }
    plan.profiles[i] = *p;
    if (auto notes = load_quirks(p->dir))
      column.notes = std::move(*notes);
    else
      fmt::print(stderr, "upfault matrix: {}\n", notes.error().message);
    if (!installed(*p)) {
      column.skipped =
          fmt::format("not installed ({})",
                      p->packages.empty() ? p->command.front() : fmt::format("{}", fmt::join(p->packages, ", ")));
      fmt::print("skipping {}: {}\n", names[i], column.skipped);
      continue;
    }
    plan.runnable[i] = true;
  }
  return true;
}

// Runs every runnable proxy, `a.parallel` side by side, each with its own upstream and process
// group; returns which ran to the end (their results may be written).
std::vector<char> run_columns(const MatrixArgs& a, const std::vector<Scenario>& scenarios, Plan& plan) {
  const auto& names = plan.names;
  auto& columns = plan.columns;
  std::vector<char> finished(names.size(), false);
  std::mutex print;
  std::size_t next = 0;
  auto worker = [&] {
    while (true) {
      std::size_t i;
      {
        std::lock_guard lock(print);
        if (interrupt::received()) return;
        while (next < names.size() && !plan.runnable[next]) ++next;
        if (next >= names.size()) return;
        i = next++;
      }
      SuiteOptions so;
      so.profile = plan.profiles[i];
      so.run.timeouts = plan.profiles[i].timeouts;
      so.run.jobs = 1;
      so.lanes = a.lanes;
      so.run.default_deadline = default_deadline(so.run.timeouts);
      unsigned completed = 0;
      auto run = run_repeated(scenarios, so, a.repeat, completed);
      auto& col = columns[i];
      col.proxy = run.proxy;
      col.wall_seconds = run.wall_seconds;
      col.repeat = a.repeat;
      col.repeat_completed = completed;
      std::lock_guard lock(print);
      if (run.interrupted) {
        col.skipped = "interrupted";
        continue;
      }
      finished[i] = true;
      if (!run.setup_error.empty()) {
        col.skipped = kNeverReady;
        fmt::print("{}: could not be started: {}\n", names[i], run.setup_error);
        continue;
      }
      if (!run.proxy_died.empty()) {
        fmt::print("{}: {}\n", names[i], run.proxy_died);
        col.died = run.proxy_died.substr(0, run.proxy_died.find('\n'));
      }
      col.results = std::move(run.results);
      Tally t;
      for (const auto& r : col.results) t.add(r);
      fmt::print("{:<16} {:<8} {:>3} pass, {:>2} stricter, {:>2} fail, {:>2} error  ({:.1f} s{})\n", names[i],
                 col.proxy.version, t.pass, t.stricter, t.fail, t.error, col.wall_seconds,
                 a.repeat > 1 ? fmt::format(" for {} runs; {} unstable", a.repeat, t.unstable) : "");
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < std::max(1u, a.parallel); ++k) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return finished;
}

int matrix(const MatrixArgs& a) {
  auto suite = load_suite(a.paths, {});
  if (!suite.errors.empty() || suite.scenarios.empty()) return kInputError;
  if (!writable(a.out)) return kInputError;
  Plan plan;
  if (!plan_columns(a, plan)) return kInputError;
  const auto finished = run_columns(a, suite.scenarios, plan);
  const auto& columns = plan.columns;
  std::vector<std::pair<fs::path, std::string>> files;
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (const auto& c = columns[i]; finished[i] && c.skipped.empty())
      files.emplace_back(fs::path(a.out) / "results" / (c.proxy.name + ".json"),
                         to_json(c.proxy, c.results, c.wall_seconds, run_record(plan.profiles[i], c)));
  if (interrupt::received()) {
    // A partial page would replace a whole one: only the proxies that finished are written.
    const bool ok = write_all(files);
    fmt::print(stderr, "upfault matrix: stopped by {}; {} proxies finished{}; the page was not rewritten\n",
               strsignal(interrupt::received()), files.size(),
               ok && !files.empty() ? fmt::format(", their results are in {}/results/", a.out) : "");
    return interrupt::exit_status();
  }
  if (!write_all(files)) return kInputError;
  // The page is built from the files just written, as --from builds it from files written anywhere.
  std::vector<std::string> ran;
  std::vector<ProxyColumn> not_run;
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (finished[i] && columns[i].skipped.empty())
      ran.push_back(columns[i].proxy.name);
    else
      not_run.push_back(not_run_column(columns[i]));
  const int written = write_page(suite.scenarios, fs::path(a.out) / "results", a.out, ran, std::move(not_run));
  // An installed proxy that could not be started is a setup error, not a column to skip in silence:
  // the page shows it, and the exit status says so (a matrix in CI fails on it).
  const auto unstarted =
      std::count_if(columns.begin(), columns.end(), [](const auto& c) { return c.skipped == kNeverReady; });
  if (written != kPassed || unstarted == 0) return written;
  fmt::print(stderr, "upfault matrix: {} installed prox{} could not be started (above)\n", unstarted,
             unstarted == 1 ? "y" : "ies");
  return kProxyError;
}

}  // namespace

void setup_matrix(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("matrix", "Run every scenario against every proxy and write the conformance matrix");
  auto a = std::make_shared<MatrixArgs>();
  auto page = std::make_shared<PageArgs>();
  cmd->add_option("paths", a->paths, "Scenario files or directories (default: scenarios)");
  cmd->add_option("--proxies", a->proxies, "Comma-separated profiles, or \"all\" (every profile but blind)")
      ->capture_default_str();
  auto* out =
      cmd->add_option("-o,--out", a->out, "Directory for README.md, index.html and results/")->capture_default_str();
  auto* from =
      cmd->add_option("--from", page->from,
                      "Run no proxy: build README.md, index.html and FINDINGS.md from DIR/results/*.json (written by "
                      "matrix runs anywhere), into DIR unless --out says otherwise");
  cmd->add_option("--parallel", a->parallel, "Proxies run at once")->check(CLI::Range(1u, 16u))->capture_default_str();
  cmd->add_option("--lanes", a->lanes,
                  "Instances of each proxy, each with its own upstream, running its share of the scenarios one at "
                  "a time")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  cmd->add_option("--repeat", a->repeat,
                  "Run the suite N times through each proxy (a fresh instance each time): a cell that varied shows "
                  "each outcome with its count, on the page and in its results file")
      ->check(CLI::Range(1u, kMaxRepeat))
      ->capture_default_str();
  from->excludes("--proxies")->excludes("--parallel")->excludes("--lanes")->excludes("--repeat");
  cmd->callback([a, page, out, from, &exit_code] {
    if (from->count() == 0) {
      exit_code = matrix(*a);
      return;
    }
    exit_code = matrix_from(a->paths, page->from, out->count() ? fs::path(a->out) : fs::path(page->from));
  });
}

}  // namespace upfault::cli
