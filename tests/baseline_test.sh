#!/usr/bin/env bash
# A baseline for CI (--write-baseline, --baseline) and --strict, through real proxies: a proxy's
# known failures are green while they stay as recorded; any change, worse or better, is red and
# named; a broken baseline file is exit 2.
# Usage: baseline_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# run_rc WANT WHAT ARGS…: upfault run ARGS… must exit WANT; its stdout is in $out/stdout.
run_rc() {
  local want=$1 what=$2 rc=0; shift 2
  "$upfault" run "$@" -q -j 1 > "$out/stdout" 2> "$out/stderr" || rc=$?
  [[ $rc == "$want" ]] || { tail -n 8 "$out/stdout" "$out/stderr"; fail "$what: exit $rc, not $want"; }
  echo "ok: $what → $rc"
}
framing="$scenarios/framing"
run_rc 1 "the blind relay fails framing scenarios; the baseline is recorded anyway" \
  "$framing" --proxy blind --write-baseline "$out/base.json"
grep -q '"schema":"upfault-baseline/1"' "$out/base.json" || fail "no baseline written"
known=$(grep -o '"fail: ' "$out/base.json" | wc -l)
(( known > 0 )) || fail "the baseline records no failure"

run_rc 0 "the same proxy against its baseline is green" "$framing" --proxy blind --baseline "$out/base.json"
grep -q "$known known failures as recorded, 0 changes" "$out/stdout" || fail "no word of the $known known failures"

run_rc 1 "a proxy that now passes them is red: the baseline must be updated" \
  "$framing" --proxy reference --baseline "$out/base.json"
grep -q "baseline: better duplicate-content-length: fail: " "$out/stdout" || fail "the better verdict is not named"

# A worse verdict: the baseline says duplicate-content-length passed.
python3 - "$out/base.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["scenarios"]["duplicate-content-length"] = "pass"
json.dump(b, open(sys.argv[1], "w"))
PY
run_rc 1 "a verdict that got worse is red" "$framing" --proxy blind --baseline "$out/base.json"
grep -q "baseline: worse duplicate-content-length: pass → fail: " "$out/stdout" || fail "the worse verdict is not named"

# A scenario the baseline does not list must pass.
echo '{"schema":"upfault-baseline/1","scenarios":{}}' > "$out/empty.json"
run_rc 1 "a failure the baseline does not list is red" "$framing" --proxy blind --baseline "$out/empty.json"
grep -q "baseline: not in the baseline duplicate-content-length: (must pass) → fail" "$out/stdout" || fail "not named"

echo '{"schema":"something-else"}' > "$out/bad.json"
run_rc 2 "a file that is not a baseline" "$framing" --proxy blind --baseline "$out/bad.json"
grep -q "is not an upfault baseline" "$out/stderr" || fail "no word of the bad baseline"
run_rc 2 "a baseline that does not exist" "$framing" --proxy blind --baseline "$out/none.json"
run_rc 2 "--write-baseline where nothing can be written (before the run)" \
  "$framing" --proxy blind --write-baseline "$out/no/such/dir/b.json"

# --strict: stricter than required counts as a failure.
lf="$scenarios/status-line/lf-only-line-endings.toml"
run_rc 0 "stricter passes by default" "$lf" --proxy reference
run_rc 1 "stricter fails with --strict, in every report" "$lf" --proxy reference --strict \
  --json "$out/strict.json" --junit "$out/strict.xml" --summary "$out/strict.md"
grep -q -- "which --strict counts as a failure" "$out/stdout" || fail "no word of --strict on the console"
grep -q '"fail":1' "$out/strict.json" || fail "the JSON report does not count the strict failure"
grep -q "<failure" "$out/strict.xml" || fail "the JUnit file has no failure for it"
grep -q "0 passed, 1 failed" "$out/strict.md" || fail "the summary does not count it as failed"
# A report named twice, once as the baseline to write: refused before the run.
run_rc 2 "--json and --write-baseline naming one file" "$lf" --proxy reference --json "$out/same.json" \
  --write-baseline "$out/same.json"
# A documented deviation (the profile's quirks.toml) shows beside the verdict in the console, the
# JUnit file, the Markdown summary and the JSON; a failure no quirk covers has no such note.
refused="$scenarios/connection/connection-refused.toml"
run_rc 1 "HAProxy's 503 for a refused connect is still a failure" "$refused" --proxy haproxy \
  --junit "$out/j.xml" --summary "$out/s.md" --json "$out/r.json"
for f in "$out/stdout" "$out/j.xml" "$out/s.md" "$out/r.json"; do
  grep -q "documented deviation: HAProxy answers 503" "$f" || fail "no documented deviation in $(basename "$f")"
done
grep -q "configuration.html#1.3.1" "$out/stdout" || fail "the deviation does not cite HAProxy's documentation"
run_rc 1 "the blind relay's failure has no quirk" "$framing/duplicate-content-length.toml" --proxy blind
! grep -q "documented deviation" "$out/stdout" || fail "a note where no quirk applies"
echo "PASS"
