#!/usr/bin/env bash
# upfault merge: the four shards of a suite, run separately, merge into the report of the
# unsharded run: the same scenarios in the same order with the same verdicts, statuses and
# endings, the same counts, the same JUnit testcases and failures, the same summary rows. And it
# refuses, exit 2 with the reason, what is not one suite through one proxy: a missing shard
# (unless --partial), a shard twice, another suite, another proxy.
# Usage: merge_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# The blind relay: passes some scenarios and fails many, the same way every run.
suite=("$scenarios/framing" "$scenarios/passthrough" "$scenarios/status-line")
run() { "$upfault" run "${suite[@]}" --proxy blind -q "$@" > /dev/null 2>&1 || [[ $? == 1 ]]; }
run --json "$out/whole.json" --junit "$out/whole.xml" --summary "$out/whole.md"
for i in 1 2 3 4; do run --shard "$i/4" --json "$out/shard$i.json"; done

merge_rc() {
  local want=$1 what=$2 rc=0; shift 2
  "$upfault" merge "$@" > "$out/stdout" 2> "$out/stderr" || rc=$?
  [[ $rc == "$want" ]] || { cat "$out/stderr"; fail "$what: exit $rc, not $want"; }
  echo "ok: $what → $rc"
}
merge_rc 1 "the four shards merge (the relay fails scenarios, so the merged run fails)" \
  "$out"/shard{3,1,4,2}.json --json "$out/merged.json" --junit "$out/merged.xml" --summary "$out/merged.md"

python3 - "$out" <<'PY'
import json, re, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
whole, merged = json.load(open(f"{d}/whole.json")), json.load(open(f"{d}/merged.json"))
key = lambda r: (r["scenario"], r["index"], r["category"], r["verdict"], r["status"], r["ended"], r.get("note"))
w, m = [key(r) for r in whole["results"]], [key(r) for r in merged["results"]]
if w != m:
    diff = [(a, b) for a, b in zip(w, m) if a != b][:3]
    sys.exit(f"FAIL: merged results differ from the unsharded run's ({len(w)} vs {len(m)}): {diff}")
counts = lambda s: {k: s[k] for k in ("total", "pass", "stricter", "fail", "error")}
if counts(whole["summary"]) != counts(merged["summary"]):
    sys.exit(f"FAIL: summary {merged['summary']} is not the unsharded run's {whole['summary']}")
if whole["proxy"]["version"] != merged["proxy"]["version"] or whole["suite"]["fingerprint"] != merged["suite"]["fingerprint"]:
    sys.exit("FAIL: the merged report names another proxy or suite")
if not 0 < counts(whole["summary"])["fail"] < len(w):
    sys.exit("FAIL: the suite through the relay should pass some scenarios and fail others")

def cases(path):
    root = ET.parse(path).getroot()
    attrs = {k: root.get(k) for k in ("tests", "failures", "errors")}
    rows = [(s.get("name"), c.get("classname"), c.get("name"), c.find("failure") is not None, c.find("error") is not None)
            for s in root.iter("testsuite") for c in s.iter("testcase")]
    return attrs, rows
if cases(f"{d}/whole.xml") != cases(f"{d}/merged.xml"):
    sys.exit("FAIL: the merged JUnit file's testcases differ from the unsharded run's")
# The summary's rows, without the times in the reasons ("after 3 ms").
rows = lambda p: sorted(re.sub(r"\d+ ms", "N ms", l) for l in open(p) if l.startswith("| ❌") or l.startswith("| ⚠"))
if rows(f"{d}/whole.md") != rows(f"{d}/merged.md") or not rows(f"{d}/whole.md"):
    sys.exit("FAIL: the merged summary's rows differ from the unsharded run's")
print(f"merged {len(m)} results equal the unsharded run's: {counts(merged['summary'])}")
PY

# merge --baseline: the merged shards held to a baseline say what the whole run held to it says —
# the same known failures skipped in JUnit, the same rows, the same changes leading the summary —
# and exit 0 while nothing changed, 1 on a change.
"$upfault" run "${suite[@]}" --proxy blind -q --write-baseline "$out/base.json" > /dev/null 2>&1 || [[ $? == 1 ]]
run --baseline "$out/base.json" --json "$out/whole-b.json" --junit "$out/whole-b.xml" --summary "$out/whole-b.md"
merge_rc 0 "the shards merge green against the baseline" "$out"/shard{2,4,1,3}.json --baseline "$out/base.json" \
  --json "$out/merged-b.json" --junit "$out/merged-b.xml" --summary "$out/merged-b.md"
grep -q "known failures as recorded, 0 changes" "$out/stderr" || fail "merge does not say the baseline holds"
python3 - "$out" <<'PY'
import json, re, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
def cases(path):
    root = ET.parse(path).getroot()
    return ({k: root.get(k) for k in ("tests", "failures", "errors", "skipped")},
            [(c.get("name"), [e.tag for e in c if e.tag != "system-out"]) for c in root.iter("testcase")])
w, m = cases(f"{d}/whole-b.xml"), cases(f"{d}/merged-b.xml")
if w != m: sys.exit(f"FAIL: merged JUnit against the baseline differs from the whole run's: {w[0]} vs {m[0]}")
if w[0]["failures"] != "0" or w[0]["skipped"] == "0": sys.exit(f"FAIL: known failures are not skipped: {w[0]}")
rows = lambda p: [(r["scenario"], r["baseline"], r.get("baseline_recorded")) for r in json.load(open(p))["results"]]
if rows(f"{d}/whole-b.json") != rows(f"{d}/merged-b.json"): sys.exit("FAIL: the rows' baseline fields differ")
md = lambda p: re.sub(r"\d+ ms", "N ms", re.sub(r" in [0-9.]+ s\n", "\n", open(p).read()))
if md(f"{d}/whole-b.md") != md(f"{d}/merged-b.md"): sys.exit("FAIL: the merged summary differs from the whole run's")
print(f"merge --baseline: JUnit {m[0]}, rows and summary equal the whole run's")
PY
python3 - "$out/base.json" "$out/base-changed.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); s = b["scenarios"]
passing = next(n for n, o in sorted(s.items()) if o == "pass")
failing = next(n for n, o in sorted(s.items()) if o.startswith("fail: "))
s[passing], s[failing] = "fail: 200 complete", "pass"
json.dump(b, open(sys.argv[2], "w"))
print(f"changed: {passing} recorded as failing, {failing} as passing")
PY
merge_rc 1 "the shards merge red against a baseline they differ from" "$out"/shard{1,2,3,4}.json \
  --baseline "$out/base-changed.json" --summary "$out/merged-c.md" --junit "$out/merged-c.xml"
grep -q "^baseline: new failure " "$out/stderr" && grep -q "^baseline: fixed " "$out/stderr" \
  || { cat "$out/stderr"; fail "merge does not name the changes"; }
grep -q "\*\*2 changes\*\*" "$out/merged-c.md" || fail "the merged summary does not lead with the 2 changes"
[[ $(grep -c "<failure" "$out/merged-c.xml") == 2 ]] || fail "the merged JUnit file does not fail exactly the 2 changes"
python3 -c "import json,sys; b=json.load(open(sys.argv[1])); b['made_with']={'strict': 'yes'}; json.dump(b, open(sys.argv[2],'w'))" \
  "$out/base.json" "$out/base-bad.json"
merge_rc 2 "a baseline with a field of the wrong type is refused" "$out"/shard{1,2,3,4}.json --baseline "$out/base-bad.json"
grep -q "base-bad.json: made_with.strict is not true or false" "$out/stderr" || fail "the bad field is not named"
sed 's/"strict": false/"strict": true/' "$out/base.json" > "$out/base-strict.json"
merge_rc 2 "a baseline recorded with --strict holds no shards judged without it" "$out"/shard{1,2,3,4}.json \
  --baseline "$out/base-strict.json" --json "$out/x.json"
grep -q "base-strict.json was recorded with --strict and this run is judged without it" "$out/stderr" \
  || fail "the --strict mismatch is not named"
[[ ! -e $out/x.json ]] || fail "a refused merge wrote its report"

merge_rc 2 "a missing shard is refused" "$out"/shard{1,2,4}.json --json "$out/x.json"
grep -q "shard 3 of 4 missing" "$out/stderr" || fail "the missing shard is not named"
merge_rc 1 "--partial merges what is there and says what is missing" "$out"/shard{1,2,4}.json --partial --json "$out/p.json"
python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['suite']; sys.exit(0 if s['missing_shards']==[3] else 1)" "$out/p.json" \
  || fail "the partial report does not name shard 3 as missing"
merge_rc 2 "a shard given twice is refused" "$out"/shard{1,2,3,4,2}.json
grep -q "shard 2/4 is given twice" "$out/stderr" || fail "the duplicate shard is not named"
"$upfault" run "$scenarios/framing" --proxy blind -q --shard 1/4 --json "$out/other-suite.json" > /dev/null 2>&1 || true
merge_rc 2 "shards of another suite are refused" "$out"/shard{1,2,3}.json "$out/other-suite.json"
grep -q "ran different suites" "$out/stderr" || fail "the different suites are not named"
"$upfault" run "${suite[@]}" --proxy reference -q --shard 4/4 --json "$out/reference4.json" > /dev/null 2>&1 || true
merge_rc 2 "a shard through another proxy is refused" "$out"/shard{1,2,3}.json "$out/reference4.json"
grep -q "merge only runs through one proxy version" "$out/stderr" || fail "the different proxies are not named"
python3 - "$out/shard2.json" "$out/stopped2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["results"].pop(); r["interrupted"] = 2
json.dump(r, open(sys.argv[2], "w"))
PY
merge_rc 2 "a shard that stopped early is refused" "$out"/shard{1,3,4}.json "$out/stopped2.json"
grep -q "stopped2.json holds .* of its .* scenarios (the run was stopped by a signal)" "$out/stderr" \
  || fail "the stopped shard is not named"
"$upfault" run "${suite[@]}" --proxy blind -q --shard 4/4 --read-timeout 2s --json "$out/slow4.json" > /dev/null 2>&1 || true
merge_rc 2 "a shard judged with other timeouts is refused" "$out"/shard{1,2,3}.json "$out/slow4.json"
grep -q "merge only runs judged alike" "$out/stderr" || fail "the different timeouts are not named"
# A shard missing a row is not whole even when it does not say it was stopped.
python3 - "$out/shard2.json" "$out/short2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["results"].pop()
json.dump(r, open(sys.argv[2], "w"))
PY
merge_rc 2 "a shard missing a row, not marked stopped, is refused" "$out"/shard{1,3,4}.json "$out/short2.json"
grep -q "short2.json holds .* of its .* scenarios: merge only whole shards" "$out/stderr" \
  || fail "the short shard is not named"
# Hostile numbers: each is exit 2 naming the file and the field, never an abort (rc 134) or a
# shard count that allocates without end or loops forever (each run bounded by timeout).
hostile() {  # hostile NAME PYTHON-EDIT-OF-r WANT
  python3 - "$out/shard1.json" "$out/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); exec(sys.argv[3])
json.dump(r, open(sys.argv[2], "w"))
PY
  local rc=0
  timeout 20 "$upfault" merge "$out/$1.json" --partial > "$out/stdout" 2> "$out/stderr" || rc=$?
  [[ $rc == 2 ]] || { cat "$out/stderr"; fail "$1: exit $rc, not 2"; }
  grep -qF "$3" "$out/stderr" || { cat "$out/stderr"; fail "$1: no word of \"$3\""; }
  echo "ok: $1 → 2: $(head -c 160 "$out/stderr")"
}
hostile total-negative 'r["suite"]["total"] = -5' "total-negative.json: suite.total is not a count"
hostile total-1e300 'r["suite"]["total"] = 1e300' "suite.total is not a count"
hostile index-negative 'r["results"][0]["index"] = -1' "results[0].index is not a count"
hostile index-fraction 'r["results"][0]["index"] = 1.5' "results[0].index is not a count"
hostile index-1e300 'r["results"][0]["index"] = 1e300' "results[0].index is not a count"
hostile shard-4e9 'r["suite"]["shard"] = "1/4000000000"' "suite.shard takes I/N with 1 <= I <= N <= 10000"
hostile shard-wraps 'r["suite"]["shard"] = "4294967295/4294967295"' "suite.shard takes I/N"
printf '{"schema":"upfault-run/1"' > "$out/broken.json"
merge_rc 2 "a broken report is refused" "$out/broken.json"
# Bench reports: two load generators' reports merge into one whose counts are the sum (the exact
# percentiles of a merge are pinned by tests/bench_merge_test.cpp); a run report among them is refused.
for g in 1 2; do
  "$upfault" bench --proxy reference -n 200 -c 2 -t 1 -q --json "$out/bench$g.json" > /dev/null 2>&1 \
    || fail "upfault bench $g"
done
merge_rc 0 "two bench reports merge" "$out/bench1.json" "$out/bench2.json" --json "$out/bench.json"
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
a, b, m = (json.load(open(f"{d}/{n}.json")) for n in ("bench1", "bench2", "bench"))
if m["responses"] != a["responses"] + b["responses"] or m["responses"] == 0:
    sys.exit(f"FAIL: merged responses {m['responses']} are not {a['responses']} + {b['responses']}")
print(f"bench: {a['responses']} + {b['responses']} responses merged into {m['responses']}")
PY
# Bench reports out of range: refused with the field, not wrapped or summed.
python3 - "$out/bench1.json" "$out" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
for name, key, value in (("conn", "connections", 2**64 - 1), ("secs", "seconds", -4.0), ("rps", "requests_per_second", -1.0)):
    b = dict(a); b[key] = value
    json.dump(b, open(f"{sys.argv[2]}/bench-{name}.json", "w"))
b = dict(a); b["interrupted"] = 2
json.dump(b, open(f"{sys.argv[2]}/bench-stopped.json", "w"))
PY
merge_rc 2 "bench connections 2^64-1 refused" "$out/bench-conn.json" "$out/bench2.json"
grep -q "report 1: connections is 18446744073709551615, over" "$out/stderr" || fail "connections not named"
merge_rc 2 "bench negative seconds refused" "$out/bench2.json" "$out/bench-secs.json"
grep -q "report 2: seconds is -4" "$out/stderr" || fail "seconds not named"
merge_rc 2 "bench negative rate refused" "$out/bench2.json" "$out/bench-rps.json"
grep -q "report 2: requests_per_second is -1" "$out/stderr" || fail "requests_per_second not named"
merge_rc 2 "an interrupted bench report is refused" "$out/bench1.json" "$out/bench-stopped.json"
grep -q "report 2 is of a run stopped by" "$out/stderr" || fail "the interrupted bench report is not named"
merge_rc 0 "... and merged with --partial, marked" "$out/bench1.json" "$out/bench-stopped.json" --partial --json "$out/bs.json"
grep -q '"interrupted":2' "$out/bs.json" || fail "the partial bench merge is not marked interrupted"
merge_rc 2 "a bench report and a run report do not merge" "$out/bench1.json" "$out/shard1.json" --json "$out/x.json"
echo PASS
