#!/usr/bin/env bash
# Zero flakes: the corpus 20 times against the reference proxy and against nginx, with both
# CPUs loaded by stress-ng, and not one verdict may change.
# Usage: zero_flakes_test.sh UPFAULT SCENARIOS_DIR [RUNS]
set -euo pipefail
upfault=$1 scenarios=$2 runs=${3:-20}
fail() { echo "FAIL: $*"; exit 1; }
command -v stress-ng >/dev/null || fail "stress-ng is not installed"
log=$(mktemp)
stress-ng --cpu 2 --timeout 600s --quiet &
load=$!
trap 'kill "$load" 2>/dev/null; wait "$load" 2>/dev/null; rm -f "$log"' EXIT
for proxy in reference nginx; do
  "$upfault" run "$scenarios" --proxy "$proxy" --repeat "$runs" --quiet > "$log" || true
  sed -n '/^what varied over the runs:$/,/^repeat:/p; /^repeat:/p' "$log" | uniq  # each outcome with its count
  grep -q "^repeat: $runs runs, 0 scenarios changed verdict" "$log" || fail "$proxy: verdicts changed under load"
done
echo "zero flakes: $runs runs each against reference and nginx under stress-ng --cpu 2"
