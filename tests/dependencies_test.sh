#!/usr/bin/env bash
# The judge and the reporters depend on the scenario model and the observations only: none of
# their files (and every check in src/checks/) may include the server, the runner, the rig, the client's sockets or Asio.
# Usage: dependencies_test.sh HARNESS_DIR
set -euo pipefail
harness=$1
fail() { echo "FAIL: $*"; exit 1; }
checked=0
checks=$(cd "$harness" && ls src/checks/*.cpp src/checks/check.hpp)
for f in include/upfault/verdict.hpp src/verdict.cpp include/upfault/report.hpp src/report.cpp \
         include/upfault/matrix.hpp src/matrix.cpp src/matrix_html.cpp src/matrix_markdown.cpp src/matrix_rank.cpp src/matrix_findings.cpp \
         src/matrix_results.cpp src/matrix_text.hpp include/upfault/observed.hpp src/observed.cpp \
         src/check_registry.cpp src/scenario_toml.hpp include/upfault/baseline.hpp src/baseline.cpp \
         src/baseline_report.cpp src/report_files.cpp include/upfault/repeat.hpp src/repeat.cpp $checks; do
  [[ -f $harness/$f ]] || fail "$f is missing: update this test"
  bad=$(grep -nE '#include [<"](upfault/(upstream|runner|rig|client|proxy)\.hpp|net\.hpp|client_async\.hpp|boost/asio|boost/beast)' \
          "$harness/$f" || true)
  [[ -z $bad ]] || fail "$f includes what the judge and reporters must not depend on: $bad"
  checked=$((checked + 1))
done
echo "ok: $checked files of the judge and the reporters include neither the server, the runner nor sockets"
echo PASS
