#include <fmt/format.h>

#include <cstdio>

#include <new>
#include <string>

#include "commands.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/text.hpp"

namespace {
// The subcommand that was running ("run", "merge"), for messages.
std::string command_of(const CLI::App& app) {
  const auto used = app.get_subcommands();
  return used.empty() ? std::string() : used.front()->get_name();
}
}  // namespace

int main(int argc, char** argv) {
  // First, before any thread: Ctrl-C, SIGTERM and SIGHUP stop runs cleanly (interrupt.hpp).
  upfault::interrupt::install();
  // Line-buffered even into a file or a pipe (a CI log): a message on stderr then falls between
  // lines of the results, never in the middle of one still held in stdout's buffer.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Named, not taken from argv[0]: help and man pages say "upfault run", wherever the binary is.
  CLI::App app{"upfault: fault-injection test harness for HTTP reverse proxies", "upfault"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(UPFAULT_VERSION));
  int exit_code = upfault::cli::kPassed;
  upfault::cli::setup_run(app, exit_code);
  upfault::cli::setup_serve(app, exit_code);
  upfault::cli::setup_check(app, exit_code);
  upfault::cli::setup_list(app, exit_code);
  upfault::cli::setup_matrix(app, exit_code);
  upfault::cli::setup_bench(app, exit_code);
  upfault::cli::setup_routes(app, exit_code);
  upfault::cli::setup_merge(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : upfault::cli::kInputError;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "upfault {}: out of memory\n", command_of(app));
    return upfault::cli::kInputError;
  } catch (const std::exception& e) {
    // Readers of files and peers return Problems; whatever still escapes is upfault's own bug,
    // told as one (exit 2), never an abort.
    fmt::print(stderr, "upfault {}: {} (an internal error of upfault: please report it with the command line)\n",
               command_of(app), upfault::safe_text(e.what(), false));
    return upfault::cli::kInputError;
  }
  return exit_code;
}
