#include <fmt/format.h>

#include "commands.hpp"
#include "upfault/interrupt.hpp"

int main(int argc, char** argv) {
  // First, before any thread: Ctrl-C, SIGTERM and SIGHUP stop runs cleanly (interrupt.hpp).
  upfault::interrupt::install();
  CLI::App app{"upfault: fault-injection test harness for HTTP reverse proxies"};
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
  }
  return exit_code;
}
