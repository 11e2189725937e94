#!/usr/bin/env bash
# `upfault matrix --from DIR`: the page built from results files alone is the page a matrix run
# builds (one rendering path), and results of another scenario set, another schema or none at all
# are refused with exit 2 and the reason (the scenario that differs named).
# Usage: matrix_from_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1
scenarios=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$upfault" matrix "$scenarios" --proxies reference,blind --lanes 8 --out "$out/run" > "$out/run.log" 2>&1 ||
  { cat "$out/run.log"; fail "the matrix run"; }
"$upfault" matrix --from "$out/run" "$scenarios" --out "$out/again" > "$out/again.log" 2>&1 ||
  { cat "$out/again.log"; fail "matrix --from of a run's own results"; }
for f in README.md index.html FINDINGS.md; do
  cmp -s "$out/run/$f" "$out/again/$f" || fail "$f from --from differs from the run's own"
done
grep -q "from 2 results files" "$out/again.log" || fail "--from did not say what it read: $(cat "$out/again.log")"

refused() {  # refused WHAT PATTERN ARGS…: exit 2, the reason on stderr
  local what=$1 pattern=$2; shift 2
  local status=0
  "$upfault" matrix "$@" > "$out/stdout" 2> "$out/stderr" || status=$?
  [[ $status == 2 ]] || fail "$what: exit $status, want 2"
  grep -qE "$pattern" "$out/stderr" || fail "$what: stderr says '$(cat "$out/stderr")', want /$pattern/"
  ! grep -q "wrote" "$out/stdout" || fail "$what: it wrote a page"
}
# Another scenario set: one scenario fewer in the suite, one more.
cp -r "$scenarios" "$out/fewer"
rm "$out/fewer/framing/duplicate-content-length.toml"
refused "a scenario the suite lacks" 'blind.json: results of a different scenario set: not in the suite: "duplicate-content-length"' \
  --from "$out/run" "$out/fewer" --out "$out/x"
cp -r "$scenarios" "$out/more"
sed 's/^name *= *"duplicate-content-length"/name = "added-since-the-run"/' \
  "$scenarios/framing/duplicate-content-length.toml" > "$out/more/framing/added-since-the-run.toml"
refused "a scenario the file lacks" 'missing from the file: "added-since-the-run"' --from "$out/run" "$out/more" --out "$out/x"
# Another schema, a file that is not JSON, a directory with no results.
mkdir -p "$out/other/results"
sed 's/"upfault-run\/1"/"upfault-run\/9"/' "$out/run/results/reference.json" > "$out/other/results/reference.json"
refused "another schema" 'its schema is "upfault-run/9"' --from "$out/other" "$scenarios"
echo '{"schema": "upfault-run/1", "proxy": ' > "$out/other/results/reference.json"
refused "a truncated file" 'reference.json: not a results file' --from "$out/other" "$scenarios"
rm "$out/other/results/reference.json"
refused "no results" 'holds no results file' --from "$out/other" "$scenarios"
# Two files of one proxy.
cp "$out/run/results/reference.json" "$out/run/results/reference-copy.json"
refused "one proxy twice" 'a second results file of proxy "reference"' --from "$out/run" "$scenarios" --out "$out/x"
[[ ! -e "$out/x" ]] || fail "a refused --from wrote into --out"
# --from runs no proxy: it cannot be given proxies.
status=0
"$upfault" matrix --from "$out/run" --proxies nginx > /dev/null 2>&1 || status=$?
[[ $status == 2 ]] || fail "--from with --proxies: exit $status, want 2"
echo "PASS: matrix --from rebuilds the run's page byte for byte and refuses other suites, schemas and duplicates"
