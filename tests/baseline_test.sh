#!/usr/bin/env bash
# A baseline for CI (--write-baseline, --baseline) and --strict, through real proxies: a proxy's
# known failures are green while they stay as recorded — and every report says so (JUnit skips
# them, the summary marks them known) —; any change, worse or better, is red and named in every
# report; a broken baseline file, one recorded with another --strict, or a run with setup errors
# to record, is exit 2.
# Usage: baseline_test.sh UPFAULT SCENARIOS_DIR XSD
set -euo pipefail
upfault=$1 scenarios=$2 xsd=$3
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
run_rc 0 "the blind relay fails framing scenarios; the baseline records them (exit 0: recorded)" \
  "$framing" --proxy blind --write-baseline "$out/base.json"
grep -q '^  "schema": "upfault-baseline/1",$' "$out/base.json" || fail "no baseline written"
grep -q '^  "made_with": {"upfault": "[0-9.]*", "proxy": "blind", "proxy_version": "[^"]*", "strict": false},$' \
  "$out/base.json" || fail "the baseline does not say what it was made with"
# One scenario per line, sorted by name: a diff of the file shows which scenarios changed.
{ grep '^    "' "$out/base.json" || true; } | cut -d'"' -f2 > "$out/names"
LC_ALL=C sort -c "$out/names" || fail "the baseline's scenarios are not sorted by name"
(( $(wc -l < "$out/names") == $(ls "$framing"/*.toml | wc -l) )) || fail "not one scenario per line"
known=$(grep -o '"fail: ' "$out/base.json" | wc -l)
(( known > 0 )) || fail "the baseline records no failure"

run_rc 0 "the same proxy against its baseline is green, in every report" "$framing" --proxy blind \
  --baseline "$out/base.json" --json "$out/green.json" --junit "$out/green.xml" --summary "$out/green.md"
grep -q "$known known failures as recorded, 0 changes" "$out/stdout" || fail "no word of the $known known failures"
# Streamed, a known failure is KNOWN, not FAIL: the console agrees with the exit code (and -q,
# which shows what fails the run, shows none).
grep -q "^FAIL \|^KNOWN " "$out/stdout" && { grep "^FAIL \|^KNOWN " "$out/stdout"; fail "-q showed a known failure"; }
"$upfault" run "$framing" --proxy blind -j 1 --baseline "$out/base.json" > "$out/streamed" 2>&1 || fail "not green"
grep -q "^FAIL " "$out/streamed" && { grep "^FAIL " "$out/streamed"; fail "a known failure streamed as FAIL"; }
(( $(grep -c "^KNOWN " "$out/streamed") == known )) || { cat "$out/streamed"; fail "not $known KNOWN lines streamed"; }
xmllint --noout --schema "$xsd" "$out/green.xml" 2> "$out/xmllint.log" || { cat "$out/xmllint.log"; fail "JUnit XML is not valid"; }
python3 - "$out/green.json" "$out/green.xml" "$out/green.md" "$known" <<'PY' || fail "a green run's reports do not agree"
import json, sys, xml.etree.ElementTree as ET
j, x, md, known = json.load(open(sys.argv[1])), ET.parse(sys.argv[2]).getroot(), open(sys.argv[3]).read(), int(sys.argv[4])
b = j["baseline"]
assert b["holds"] is True and b["changes"] == 0 and b["counts"]["known"] == known, b
assert all(r["baseline"] in ("known", "unchanged-pass") for r in j["results"]), "a row not as recorded"
assert x.get("failures") == "0" and not x.findall(".//failure"), "a known failure is a JUnit <failure>"
skipped = x.findall(".//testcase/skipped")
assert int(x.get("skipped")) == len(skipped) == known, (x.get("skipped"), len(skipped), known)
assert all(s.get("message").startswith("known failure (the baseline records fail: ") for s in skipped)
assert "❌" not in md, "a known failure is ❌ in the summary"
assert md.split("\n")[2] == "### Changes against the baseline", "the changes do not lead the summary"
assert "**no change**" in md and md.count("| 🟨 known failure |") == known, md
print(f"green: {known} known failures skipped in JUnit, known in the summary, no change")
PY

run_rc 1 "a proxy that now passes them is red: the baseline must be updated" \
  "$framing" --proxy reference --baseline "$out/base.json" --junit "$out/fixed.xml"
grep -q "baseline: fixed duplicate-content-length: fail: " "$out/stdout" || fail "the fixed verdict is not named"
grep -q '<failure message="fixed (the baseline records fail: ' "$out/fixed.xml" \
  || fail "a fixed scenario (which fails the run) is no JUnit failure"

# A worse verdict: the baseline says duplicate-content-length passed.
python3 - "$out/base.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["scenarios"]["duplicate-content-length"] = "pass"
json.dump(b, open(sys.argv[1], "w"))
PY
run_rc 1 "a verdict that got worse is red, and every report names it" "$framing" --proxy blind \
  --baseline "$out/base.json" --json "$out/red.json" --junit "$out/red.xml" --summary "$out/red.md"
grep -q "baseline: new failure duplicate-content-length: pass → fail: " "$out/stdout" \
  || fail "the worse verdict is not named"
python3 - "$out/red.json" "$out/red.xml" "$out/red.md" <<'PY' || fail "a regression's reports do not name it"
import json, sys, xml.etree.ElementTree as ET
j, x, md = json.load(open(sys.argv[1])), ET.parse(sys.argv[2]).getroot(), open(sys.argv[3]).read()
assert j["baseline"]["holds"] is False and j["baseline"]["changes"] == 1, j["baseline"]
row = next(r for r in j["results"] if r["scenario"] == "duplicate-content-length")
assert row["baseline"] == "new-failure" and row["baseline_recorded"] == "pass", row
failed = [c.get("name") for c in x.iter("testcase") if c.find("failure") is not None]
assert failed == ["duplicate-content-length"], failed
changes = md[md.index("### Changes against the baseline"):md.index("### All results")]
assert "**1 change**" in changes and "| ❌ new failure | `framing/duplicate-content-length` | `pass` | `fail: " in changes, changes
print("red: the one change is the one JUnit failure and leads the summary")
PY

# A scenario the baseline does not list must pass.
echo '{"schema":"upfault-baseline/1","scenarios":{}}' > "$out/empty.json"
run_rc 1 "a failure the baseline does not list is red" "$framing" --proxy blind --baseline "$out/empty.json"
grep -q "baseline: new failure duplicate-content-length: (not in the baseline: it must pass) → fail" "$out/stdout" \
  || fail "not named"

echo '{"schema":"something-else"}' > "$out/bad.json"
run_rc 2 "a file that is not a baseline" "$framing" --proxy blind --baseline "$out/bad.json"
grep -q "is not an upfault baseline" "$out/stderr" || fail "no word of the bad baseline"
run_rc 2 "a baseline that does not exist" "$framing" --proxy blind --baseline "$out/none.json"
run_rc 2 "--write-baseline where nothing can be written (before the run)" \
  "$framing" --proxy blind --write-baseline "$out/no/such/dir/b.json"

# A baseline holds only a run judged as it was recorded: --strict either way is refused before the run.
run_rc 2 "a baseline recorded without --strict, a run with it" "$framing" --proxy blind --strict --baseline "$out/base.json"
grep -q "base.json was recorded without --strict and this run is judged with it" "$out/stderr" \
  || fail "no word of the --strict mismatch"
# A setup error is never recorded. Pre-flight names a missing route before the run, so this profile
# routes only the path of /__refused/'s pre-flight probe: connection-refused's own request still
# reaches the plain upstream, a setup error found in the run.
cat > "$out/noroutes.toml" <<'TOML'
name = "noroutes"
command = ["{bindir}/upfault-reference-proxy", "--listen", "127.0.0.1:{listen_port}", "--upstream", "127.0.0.1:{upstream_port}",
           "--route", "/__refused/__upfault/upfault-preflight=127.0.0.1:{refused_port}"]
TOML
echo keep > "$out/kept.json"
run_rc 2 "--write-baseline of a run with setup errors is refused" "$scenarios/connection/connection-refused.toml" \
  "$scenarios/passthrough/ok-200-baseline.toml" --proxy "$out/noroutes.toml" --write-baseline "$out/kept.json"
grep -q "not recorded: 1 scenario ended in a setup error.*: connection-refused\." "$out/stderr" \
  || { cat "$out/stderr"; fail "the refusal does not name the setup error"; }
[[ $(cat "$out/kept.json") == keep ]] || fail "the refused baseline replaced the file"

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
